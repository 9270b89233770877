//! Cart lines added by a saga and taken back by its compensation
//! (`AddCartItem` / `RemoveCartItem`), idempotent by saga id through the
//! `cart_saga_items` table, on the handler's transaction.
//!
//! - An addition adds `quantity` units to the line (creating the cart for the user
//!   and the line if new) and records what it did; a repeat answers the same.
//! - It is refused, changing nothing, when the line is invalid, the cart belongs to
//!   another user, the line would exceed [`MAX_QUANTITY`], or the saga's
//!   compensation came first (a tombstone).
//! - A removal takes back what the saga added (never more than the line holds now:
//!   the user may have changed it meanwhile; a line left at 0 is deleted). With no
//!   addition it leaves a tombstone. A repeat answers the same.

use sagaflow_events::messages::{AddCartItem, RemoveCartItem};
use sqlx::{PgConnection, Row};

use crate::store::{MAX_QUANTITY, MAX_SKU_LEN};

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
    let sku = &command.sku;
    if sku.trim().is_empty() || sku.len() > MAX_SKU_LEN || sku.chars().any(char::is_control) {
        return Some(format!(
            "sku must be 1 to {MAX_SKU_LEN} printable characters"
        ));
    }
    if command.user_id.trim().is_empty() {
        return Some("user id must not be blank".to_owned());
    }
    if !(1..=MAX_QUANTITY).contains(&command.quantity) {
        return Some(format!("quantity must be 1 to {MAX_QUANTITY}"));
    }
    if command.unit_price_minor < 0 {
        return Some("unit_price_minor must not be negative".to_owned());
    }
    None
}

/// Applies (or repeats the answer of) an `AddCartItem`.
pub async fn add(conn: &mut PgConnection, command: &AddCartItem) -> Result<Added, sqlx::Error> {
    let previous = sqlx::query(
        "SELECT state, quantity_added, line_quantity, reason FROM cart_saga_items
         WHERE saga_id = $1 FOR UPDATE",
    )
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
        None => add_line(conn, command).await?,
    };
    let (state, quantity_added, line_quantity, reason) = match &outcome {
        Added::Added {
            quantity_added,
            line_quantity,
        } => ("added", *quantity_added, *line_quantity, None),
        Added::Refused { reason } => ("refused", 0, 0, Some(reason.as_str())),
    };
    sqlx::query(
        "INSERT INTO cart_saga_items (saga_id, cart_id, sku, state, quantity_added, line_quantity, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
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
async fn add_line(conn: &mut PgConnection, command: &AddCartItem) -> Result<Added, sqlx::Error> {
    sqlx::query("INSERT INTO carts (cart_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(command.cart_id)
        .bind(&command.user_id)
        .execute(&mut *conn)
        .await?;
    let owner: String =
        sqlx::query_scalar("SELECT user_id FROM carts WHERE cart_id = $1 FOR UPDATE")
            .bind(command.cart_id)
            .fetch_one(&mut *conn)
            .await?;
    if owner != command.user_id {
        return Ok(Added::Refused {
            reason: format!("cart {} belongs to another user", command.cart_id),
        });
    }
    let line: Option<i32> = sqlx::query_scalar(
        "INSERT INTO cart_items (cart_id, sku, quantity, unit_price_minor) VALUES ($1, $2, $3, $4)
         ON CONFLICT (cart_id, sku) DO UPDATE
         SET quantity = cart_items.quantity + EXCLUDED.quantity,
             unit_price_minor = EXCLUDED.unit_price_minor, updated_at = now()
         WHERE cart_items.quantity + EXCLUDED.quantity <= $5
         RETURNING quantity",
    )
    .bind(command.cart_id)
    .bind(&command.sku)
    .bind(command.quantity)
    .bind(command.unit_price_minor)
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
    sqlx::query("UPDATE carts SET updated_at = now() WHERE cart_id = $1")
        .bind(command.cart_id)
        .execute(&mut *conn)
        .await?;
    Ok(Added::Added {
        quantity_added: command.quantity,
        line_quantity,
    })
}

/// Applies (or repeats the answer of) a `RemoveCartItem`; returns the units taken back.
pub async fn remove(conn: &mut PgConnection, command: &RemoveCartItem) -> Result<i32, sqlx::Error> {
    let previous = sqlx::query(
        "SELECT cart_id, sku, state, quantity_added, quantity_removed FROM cart_saga_items
         WHERE saga_id = $1 FOR UPDATE",
    )
    .bind(command.saga_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = previous else {
        // The addition never arrived (or is still on its way): leave a tombstone.
        sqlx::query(
            "INSERT INTO cart_saga_items (saga_id, cart_id, sku, state) VALUES ($1, $2, $3, 'removed')",
        )
        .bind(command.saga_id)
        .bind(command.cart_id)
        .bind(&command.sku)
        .execute(&mut *conn)
        .await?;
        return Ok(0);
    };
    let state: String = row.try_get("state")?;
    match state.as_str() {
        "removed" => return row.try_get("quantity_removed"),
        "refused" => {
            sqlx::query(
                "UPDATE cart_saga_items SET state = 'removed', updated_at = now() WHERE saga_id = $1",
            )
            .bind(command.saga_id)
            .execute(&mut *conn)
            .await?;
            return Ok(0);
        }
        _ => {}
    }
    let cart_id: uuid::Uuid = row.try_get("cart_id")?;
    let sku: String = row.try_get("sku")?;
    let added: i32 = row.try_get("quantity_added")?;
    // Lock the cart, then take back at most what the line holds now.
    sqlx::query("SELECT 1 FROM carts WHERE cart_id = $1 FOR UPDATE")
        .bind(cart_id)
        .execute(&mut *conn)
        .await?;
    let line: Option<i32> =
        sqlx::query_scalar("SELECT quantity FROM cart_items WHERE cart_id = $1 AND sku = $2")
            .bind(cart_id)
            .bind(&sku)
            .fetch_optional(&mut *conn)
            .await?;
    let removed = line.map_or(0, |held| held.min(added));
    match line {
        Some(held) if held <= removed => {
            sqlx::query("DELETE FROM cart_items WHERE cart_id = $1 AND sku = $2")
                .bind(cart_id)
                .bind(&sku)
                .execute(&mut *conn)
                .await?;
        }
        Some(_) => {
            sqlx::query(
                "UPDATE cart_items SET quantity = quantity - $3, updated_at = now()
                 WHERE cart_id = $1 AND sku = $2",
            )
            .bind(cart_id)
            .bind(&sku)
            .bind(removed)
            .execute(&mut *conn)
            .await?;
        }
        None => {}
    }
    sqlx::query(
        "UPDATE cart_saga_items SET state = 'removed', quantity_removed = $2, updated_at = now()
         WHERE saga_id = $1",
    )
    .bind(command.saga_id)
    .bind(removed)
    .execute(&mut *conn)
    .await?;
    Ok(removed)
}
