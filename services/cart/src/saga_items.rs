//! Cart lines added by a saga and taken back by its compensation
//! (`AddCartItem` / `RemoveCartItem`), idempotent by saga id through the
//! `cart_saga_items` table, on the handler's transaction.
//!
//! - An addition adds `quantity` units to the line (creating the cart for the user
//!   and the line if new) and records what it did; a repeat answers the same.
//! - The cart is the command's user's in the envelope's tenant (see
//!   [`crate::store`]): another user's cart with the same id is another cart.
//! - It is refused, changing nothing, when the line is invalid, the line would
//!   exceed [`MAX_QUANTITY`], the saga's compensation came first (a tombstone), or
//!   the user was erased after the saga started ([`crate::erasure::guard`]: nothing
//!   is stored, not even the refusal).
//! - A removal takes back what the saga added (never more than the line holds now:
//!   the user may have changed it meanwhile; a line left at 0 is deleted). With no
//!   addition it leaves a tombstone. A repeat answers the same.

use sagaflow_events::messages::{AddCartItem, RemoveCartItem};
use sqlx::{PgConnection, Row};

use crate::erasure::{self, ERASED};
use crate::store::{self, MAX_QUANTITY, Owner};

/// Reason of an addition refused because its compensation came first.
pub const CANCELLED: &str = "cancelled: the saga's compensation arrived first";

/// What an `AddCartItem` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// `quantity_added` units are on the line, which now holds `line_quantity`.
    Added {
        quantity_added: i32,
        line_quantity: i32,
    },
    /// Nothing was added.
    Refused { reason: String },
}

/// Why a line cannot be added, checked before touching anything.
fn invalid(command: &AddCartItem) -> Option<String> {
    if let Some(problem) = store::sku_problem(&command.sku) {
        return Some(problem);
    }
    if command.user_id.trim().is_empty() {
        return Some("user id must not be blank".to_owned());
    }
    if !(1..=MAX_QUANTITY).contains(&command.quantity) {
        return Some(format!("quantity must be 1 to {MAX_QUANTITY}"));
    }
    None
}

/// Applies (or repeats the answer of) an `AddCartItem` of `tenant_id`.
pub async fn add(
    conn: &mut PgConnection,
    tenant_id: &str,
    command: &AddCartItem,
) -> Result<Added, sqlx::Error> {
    if erasure::guard(conn, tenant_id, &command.user_id, command.saga_id).await? {
        return Ok(Added::Refused {
            reason: ERASED.to_owned(),
        });
    }
    let owner = Owner::new(tenant_id, command.user_id.clone());
    let previous = sqlx::query(
        "SELECT state, quantity_added, line_quantity, reason FROM cart_saga_items
         WHERE tenant_id = $1 AND saga_id = $2 FOR UPDATE",
    )
    .bind(tenant_id)
    .bind(command.saga_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = previous {
        let state: String = row.try_get("state")?;
        return Ok(match state.as_str() {
            "added" => Added::Added {
                quantity_added: row.try_get("quantity_added")?,
                line_quantity: row.try_get("line_quantity")?,
            },
            "removed" => Added::Refused {
                reason: CANCELLED.to_owned(),
            },
            _ => Added::Refused {
                reason: row
                    .try_get::<Option<String>, _>("reason")?
                    .unwrap_or_default(),
            },
        });
    }
    let outcome = match invalid(command) {
        Some(reason) => Added::Refused { reason },
        None => add_line(conn, &owner, command).await?,
    };
    let (state, quantity_added, line_quantity, reason) = match &outcome {
        Added::Added {
            quantity_added,
            line_quantity,
        } => ("added", *quantity_added, *line_quantity, None),
        Added::Refused { reason } => ("refused", 0, 0, Some(reason.as_str())),
    };
    sqlx::query(
        "INSERT INTO cart_saga_items
             (tenant_id, user_id, saga_id, cart_id, sku, state, quantity_added, line_quantity, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tenant_id)
    .bind(&command.user_id)
    .bind(command.saga_id)
    .bind(command.cart_id)
    .bind(&command.sku)
    .bind(state)
    .bind(quantity_added)
    .bind(line_quantity)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    Ok(outcome)
}

/// Adds the units to the line, under the cart row's lock.
async fn add_line(
    conn: &mut PgConnection,
    owner: &Owner,
    command: &AddCartItem,
) -> Result<Added, sqlx::Error> {
    store::upsert_cart(conn, owner, command.cart_id).await?;
    let line: Option<i32> = sqlx::query_scalar(
        "INSERT INTO cart_items (tenant_id, user_id, cart_id, sku, quantity) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, user_id, cart_id, sku) DO UPDATE
         SET quantity = cart_items.quantity + EXCLUDED.quantity, updated_at = now()
         WHERE cart_items.quantity + EXCLUDED.quantity <= $6
         RETURNING quantity",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(command.cart_id)
    .bind(&command.sku)
    .bind(command.quantity)
    .bind(MAX_QUANTITY)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(line_quantity) = line else {
        return Ok(Added::Refused {
            reason: format!(
                "the line for {} would hold more than {MAX_QUANTITY} units",
                command.sku
            ),
        });
    };
    Ok(Added::Added {
        quantity_added: command.quantity,
        line_quantity,
    })
}

/// Applies (or repeats the answer of) a `RemoveCartItem` of `tenant_id`; returns
/// the units taken back.
pub async fn remove(
    conn: &mut PgConnection,
    tenant_id: &str,
    command: &RemoveCartItem,
) -> Result<i32, sqlx::Error> {
    if erasure::guard(conn, tenant_id, &command.user_id, command.saga_id).await? {
        // The user's carts are gone; store nothing about them.
        return Ok(0);
    }
    let previous = sqlx::query(
        "SELECT user_id, cart_id, sku, state, quantity_added, quantity_removed FROM cart_saga_items
         WHERE tenant_id = $1 AND saga_id = $2 FOR UPDATE",
    )
    .bind(tenant_id)
    .bind(command.saga_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = previous else {
        // The addition never arrived (or is still on its way): leave a tombstone.
        sqlx::query(
            "INSERT INTO cart_saga_items (tenant_id, user_id, saga_id, cart_id, sku, state)
             VALUES ($1, $2, $3, $4, $5, 'removed')",
        )
        .bind(tenant_id)
        .bind(&command.user_id)
        .bind(command.saga_id)
        .bind(command.cart_id)
        .bind(&command.sku)
        .execute(&mut *conn)
        .await?;
        return Ok(0);
    };
    let state: String = row.try_get("state")?;
    let mark_removed = |removed: i32| {
        sqlx::query(
            "UPDATE cart_saga_items SET state = 'removed', quantity_removed = $3, updated_at = now()
             WHERE tenant_id = $1 AND saga_id = $2",
        )
        .bind(tenant_id)
        .bind(command.saga_id)
        .bind(removed)
    };
    match state.as_str() {
        "removed" => return row.try_get("quantity_removed"),
        "refused" => {
            mark_removed(0).execute(&mut *conn).await?;
            return Ok(0);
        }
        _ => {}
    }
    // The line the saga added: its own owner, cart and SKU.
    let owner = Owner::new(tenant_id, row.try_get::<String, _>("user_id")?);
    let cart_id: uuid::Uuid = row.try_get("cart_id")?;
    let sku: String = row.try_get("sku")?;
    let added: i32 = row.try_get("quantity_added")?;
    // Lock the cart, then take back at most what the line holds now.
    sqlx::query(
        "SELECT 1 FROM carts WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 FOR UPDATE",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .execute(&mut *conn)
    .await?;
    let line: Option<i32> = sqlx::query_scalar(
        "SELECT quantity FROM cart_items
         WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 AND sku = $4",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .bind(&sku)
    .fetch_optional(&mut *conn)
    .await?;
    let removed = line.map_or(0, |held| held.min(added));
    if let Some(held) = line {
        let sql = if held <= removed {
            "DELETE FROM cart_items
             WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 AND sku = $4"
        } else {
            "UPDATE cart_items SET quantity = quantity - $5, updated_at = now()
             WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 AND sku = $4"
        };
        let query = sqlx::query(sql)
            .bind(&owner.tenant_id)
            .bind(&owner.user_id)
            .bind(cart_id)
            .bind(&sku);
        let query = if held <= removed {
            query
        } else {
            query.bind(removed)
        };
        query.execute(&mut *conn).await?;
    }
    mark_removed(removed).execute(&mut *conn).await?;
    Ok(removed)
}
