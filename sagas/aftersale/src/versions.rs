//! Every version of each after-sale definition ever shipped, oldest first (see
//! [`sagaflow_saga_engine::versions`] for why every one stays listed).

use sagaflow_saga_engine::{Version, Versions};

use crate::{cancellation, refund};

/// Every shipped `order_cancellation`, oldest first.
pub const CANCELLATION_VERSIONS: Versions = Versions(&[Version {
    definition: cancellation::definition,
    with_timeout: cancellation::definition_with_timeout,
}]);

/// Every shipped `order_refund`, oldest first.
pub const REFUND_VERSIONS: Versions = Versions(&[Version {
    definition: refund::definition,
    with_timeout: refund::definition_with_timeout,
}]);
