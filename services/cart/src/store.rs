//! Cart CRUD on PostgreSQL, shared by the HTTP API and the command handler.

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Largest quantity of one SKU in a cart.
pub const MAX_QUANTITY: i32 = 10_000;
/// Longest SKU accepted.
pub const MAX_SKU_LEN: usize = 64;

/// A cart and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cart {
    pub cart_id: Uuid,
    pub user_id: String,
    pub items: Vec<CartItem>,
    /// Σ quantity × unit price, in minor units.
    pub total_minor: i64,
}

/// One cart line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CartItem {
    pub sku: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
}

/// Why a cart operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error("{0}")]
    Invalid(String),
    #[error("cart {0} not found")]
    NotFound(Uuid),
    #[error("cart {0} belongs to another user")]
    Forbidden(Uuid),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

fn check_sku(sku: &str) -> Result<(), CartError> {
    if sku.trim().is_empty() || sku.len() > MAX_SKU_LEN || sku.chars().any(char::is_control) {
        return Err(CartError::Invalid(format!(
            "sku must be 1 to {MAX_SKU_LEN} printable characters"
        )));
    }
    Ok(())
}

fn check_user(user_id: &str) -> Result<(), CartError> {
    if user_id.trim().is_empty() {
        return Err(CartError::Invalid("user id must not be blank".to_owned()));
    }
    Ok(())
}

/// The cart, or `None` if it does not exist.
pub async fn get_cart(pool: &PgPool, cart_id: Uuid) -> Result<Option<Cart>, CartError> {
    let mut conn = pool.acquire().await?;
    load(&mut conn, cart_id).await
}

async fn load(conn: &mut PgConnection, cart_id: Uuid) -> Result<Option<Cart>, CartError> {
    let user_id: Option<String> =
        sqlx::query_scalar("SELECT user_id FROM carts WHERE cart_id = $1")
            .bind(cart_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let items: Vec<CartItem> = sqlx::query_as(
        "SELECT sku, quantity, unit_price_minor FROM cart_items WHERE cart_id = $1 ORDER BY sku",
    )
    .bind(cart_id)
    .fetch_all(&mut *conn)
    .await?;
    let total_minor = items
        .iter()
        .try_fold(0i64, |sum, i| {
            i64::from(i.quantity)
                .checked_mul(i.unit_price_minor)
                .and_then(|line| sum.checked_add(line))
        })
        .ok_or_else(|| CartError::Invalid("cart total is too large".to_owned()))?;
    Ok(Some(Cart {
        cart_id,
        user_id,
        items,
        total_minor,
    }))
}

/// The cart owned by `user_id`, or why not.
pub async fn get_owned_cart(
    pool: &PgPool,
    cart_id: Uuid,
    user_id: &str,
) -> Result<Cart, CartError> {
    let cart = get_cart(pool, cart_id)
        .await?
        .ok_or(CartError::NotFound(cart_id))?;
    if cart.user_id != user_id {
        return Err(CartError::Forbidden(cart_id));
    }
    Ok(cart)
}

/// Sets a line's quantity and unit price (adding the line, and the cart for
/// `user_id`, if new). Returns the cart.
pub async fn put_item(
    pool: &PgPool,
    cart_id: Uuid,
    user_id: &str,
    sku: &str,
    quantity: i32,
    unit_price_minor: i64,
) -> Result<Cart, CartError> {
    check_user(user_id)?;
    check_sku(sku)?;
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(CartError::Invalid(format!(
            "quantity must be 1 to {MAX_QUANTITY}"
        )));
    }
    if unit_price_minor < 0 {
        return Err(CartError::Invalid(
            "unit_price_minor must not be negative".to_owned(),
        ));
    }
    let mut tx = pool.begin().await?;
    let owner: String = sqlx::query_scalar(
        "INSERT INTO carts (cart_id, user_id) VALUES ($1, $2)
         ON CONFLICT (cart_id) DO UPDATE SET updated_at = now() RETURNING user_id",
    )
    .bind(cart_id)
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    if owner != user_id {
        return Err(CartError::Forbidden(cart_id));
    }
    sqlx::query(
        "INSERT INTO cart_items (cart_id, sku, quantity, unit_price_minor) VALUES ($1, $2, $3, $4)
         ON CONFLICT (cart_id, sku) DO UPDATE
         SET quantity = EXCLUDED.quantity, unit_price_minor = EXCLUDED.unit_price_minor, updated_at = now()",
    )
    .bind(cart_id)
    .bind(sku)
    .bind(quantity)
    .bind(unit_price_minor)
    .execute(&mut *tx)
    .await?;
    let cart = load(&mut tx, cart_id)
        .await?
        .ok_or(CartError::NotFound(cart_id))?;
    tx.commit().await?;
    Ok(cart)
}

/// Removes a line (absent lines are fine). Returns the cart.
pub async fn remove_item(
    pool: &PgPool,
    cart_id: Uuid,
    user_id: &str,
    sku: &str,
) -> Result<Cart, CartError> {
    check_sku(sku)?;
    let mut tx = pool.begin().await?;
    let owner: Option<String> =
        sqlx::query_scalar("SELECT user_id FROM carts WHERE cart_id = $1 FOR UPDATE")
            .bind(cart_id)
            .fetch_optional(&mut *tx)
            .await?;
    match owner {
        None => return Err(CartError::NotFound(cart_id)),
        Some(owner) if owner != user_id => return Err(CartError::Forbidden(cart_id)),
        Some(_) => {}
    }
    sqlx::query("DELETE FROM cart_items WHERE cart_id = $1 AND sku = $2")
        .bind(cart_id)
        .bind(sku)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE carts SET updated_at = now() WHERE cart_id = $1")
        .bind(cart_id)
        .execute(&mut *tx)
        .await?;
    let cart = load(&mut tx, cart_id)
        .await?
        .ok_or(CartError::NotFound(cart_id))?;
    tx.commit().await?;
    Ok(cart)
}

/// Empties `user_id`'s cart, on the caller's connection (the handler's transaction).
/// A missing cart, or one owned by someone else, is left alone. Returns the number
/// of lines removed.
pub async fn clear_cart(
    conn: &mut PgConnection,
    cart_id: Uuid,
    user_id: &str,
) -> Result<u64, sqlx::Error> {
    let removed = sqlx::query(
        "DELETE FROM cart_items i USING carts c
         WHERE i.cart_id = c.cart_id AND c.cart_id = $1 AND c.user_id = $2",
    )
    .bind(cart_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(removed)
}
