//! Who is asking: tenant and user from the `x-tenant-id` / `x-user-id` headers,
//! which the gateway sets from a verified JWT. Every resource a plan touches is
//! derived from these two, never from the text.
//!
//! The caller's assistant cart ([`cart_id`]) is a random id made on first use and
//! kept per (tenant, user) in `assistant_carts`: nobody can compute another
//! user's cart id from their tenant and user id.

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub tenant_id: String,
    pub user_id: String,
}

impl Caller {
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

/// The caller's assistant cart, made (random) on first use.
pub async fn cart_id(conn: &mut PgConnection, caller: &Caller) -> Result<Uuid, sqlx::Error> {
    sqlx::query(
        "INSERT INTO assistant_carts (tenant_id, user_id, cart_id) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, user_id) DO NOTHING",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(Uuid::new_v4())
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar("SELECT cart_id FROM assistant_carts WHERE tenant_id = $1 AND user_id = $2")
        .bind(&caller.tenant_id)
        .bind(&caller.user_id)
        .fetch_one(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_addressed_by_their_id() {
        let a = Caller {
            tenant_id: "acme".into(),
            user_id: "ada".into(),
        };
        assert_eq!(a.address("x.test"), "ada@x.test");
        let b = Caller {
            user_id: "bob@example.com".into(),
            ..a
        };
        assert_eq!(b.address("x.test"), "bob@example.com");
    }
}
