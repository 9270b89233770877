//! The shared handler test kit, plus commands in a chosen tenant.
#![allow(unused_imports, dead_code)]

pub use sagaflow_bus::testing::*;

use sagaflow_events::Contract;
use uuid::Uuid;

/// `body` as a consumer sees it, in `tenant`.
pub fn in_tenant<T: Contract>(tenant: &str, saga_id: Option<Uuid>, body: &T) -> Incoming {
    let mut message = incoming(saga_id, body);
    message.envelope.tenant_id = tenant.to_owned();
    message
}

pub use sagaflow_bus::Incoming;
