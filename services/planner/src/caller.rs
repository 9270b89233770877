//! Who is asking: tenant and user from the `x-tenant-id` / `x-user-id` headers,
//! which the gateway sets from a verified JWT. Every resource a plan touches is
//! derived from these two, never from the text.

use serde::Serialize;
use uuid::Uuid;

/// Namespace of the per-user assistant cart ids (UUIDv5).
const CART_NAMESPACE: Uuid = Uuid::from_u128(0x6c0f_3b1e_9a2d_4f57_8e61_2b7d_4c90_a1e3);

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub tenant_id: String,
    pub user_id: String,
}

impl Caller {
    /// The caller's assistant cart: one per (tenant, user), derived, so another
    /// tenant's or user's cart can never be named by accident.
    pub fn cart_id(&self) -> Uuid {
        Uuid::new_v5(
            &CART_NAMESPACE,
            format!("{}\u{0}{}", self.tenant_id, self.user_id).as_bytes(),
        )
    }

    /// Where the caller is e-mailed: the user id if it is an address, else
    /// `<user id>@<domain>`.
    pub fn address(&self, domain: &str) -> String {
        if self.user_id.contains('@') {
            self.user_id.clone()
        } else {
            format!("{}@{domain}", self.user_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carts_are_per_tenant_and_user() {
        let a = Caller {
            tenant_id: "acme".into(),
            user_id: "ada".into(),
        };
        let same = a.clone();
        let other_tenant = Caller {
            tenant_id: "globex".into(),
            ..a.clone()
        };
        let tricky = Caller {
            tenant_id: "acm".into(),
            user_id: "eada".into(),
        };
        assert_eq!(a.cart_id(), same.cart_id());
        assert_ne!(a.cart_id(), other_tenant.cart_id());
        assert_ne!(a.cart_id(), tricky.cart_id());
        assert_eq!(a.address("x.test"), "ada@x.test");
    }
}
