//! Cart CRUD on PostgreSQL, shared by the HTTP API and the command handler.
//!
//! Every query is scoped by the [`Owner`] (tenant and user): a cart is found by
//! (tenant, user, cart id), so another owner's cart with the same id is simply
//! "not found" and knowing an id reaches nothing. Lines hold a SKU and a quantity;
//! prices come from the catalogue when the order is priced, never from the cart.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::erasure;

/// Largest quantity of one SKU in a cart.
pub const MAX_QUANTITY: i32 = 10_000;
/// Longest SKU accepted.
pub const MAX_SKU_LEN: usize = 64;

/// Whose cart: the caller (HTTP) or the command's user in the envelope's tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub tenant_id: String,
    pub user_id: String,
}

impl Owner {
    pub fn new(tenant_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            user_id: user_id.into(),
        }
    }
}

/// A cart and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cart {
    pub cart_id: Uuid,
    pub items: Vec<CartItem>,
}

/// One cart line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CartItem {
    pub sku: String,
    pub quantity: i32,
}

/// Why a cart operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error("{0}")]
    Invalid(String),
    #[error("cart {0} not found")]
    NotFound(Uuid),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Why `sku` is not a SKU, if it is not.
pub fn sku_problem(sku: &str) -> Option<String> {
    (sku.trim().is_empty() || sku.len() > MAX_SKU_LEN || sku.chars().any(char::is_control))
        .then(|| format!("sku must be 1 to {MAX_SKU_LEN} printable characters"))
}

fn check_owner(owner: &Owner) -> Result<(), CartError> {
    if owner.tenant_id.trim().is_empty() || owner.user_id.trim().is_empty() {
        return Err(CartError::Invalid(
            "tenant and user id must not be blank".to_owned(),
        ));
    }
    Ok(())
}

/// `owner`'s cart, or `None` if they have none with this id.
pub async fn get_cart(
    pool: &PgPool,
    owner: &Owner,
    cart_id: Uuid,
) -> Result<Option<Cart>, CartError> {
    let mut conn = pool.acquire().await?;
    load(&mut conn, owner, cart_id).await
}

/// `owner`'s cart, or [`CartError::NotFound`].
pub async fn get_owned_cart(
    pool: &PgPool,
    owner: &Owner,
    cart_id: Uuid,
) -> Result<Cart, CartError> {
    get_cart(pool, owner, cart_id)
        .await?
        .ok_or(CartError::NotFound(cart_id))
}

pub(crate) async fn load(
    conn: &mut PgConnection,
    owner: &Owner,
    cart_id: Uuid,
) -> Result<Option<Cart>, CartError> {
    let exists: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM carts WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .fetch_optional(&mut *conn)
    .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let items: Vec<CartItem> = sqlx::query_as(
        "SELECT sku, quantity FROM cart_items
         WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 ORDER BY sku",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(Cart { cart_id, items }))
}

/// Creates `owner`'s cart if new, and locks it until the transaction ends.
pub(crate) async fn upsert_cart(
    conn: &mut PgConnection,
    owner: &Owner,
    cart_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO carts (tenant_id, user_id, cart_id) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, user_id, cart_id) DO UPDATE SET updated_at = now()",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets a line's quantity (adding the line, and `owner`'s cart, if new). Returns
/// the cart.
pub async fn put_item(
    pool: &PgPool,
    owner: &Owner,
    cart_id: Uuid,
    sku: &str,
    quantity: i32,
) -> Result<Cart, CartError> {
    check_owner(owner)?;
    if let Some(problem) = sku_problem(sku) {
        return Err(CartError::Invalid(problem));
    }
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(CartError::Invalid(format!(
            "quantity must be 1 to {MAX_QUANTITY}"
        )));
    }
    let mut tx = pool.begin().await?;
    erasure::lock(&mut tx, &owner.tenant_id, &owner.user_id, false).await?;
    upsert_cart(&mut tx, owner, cart_id).await?;
    sqlx::query(
        "INSERT INTO cart_items (tenant_id, user_id, cart_id, sku, quantity) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, user_id, cart_id, sku) DO UPDATE
         SET quantity = EXCLUDED.quantity, updated_at = now()",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .bind(sku)
    .bind(quantity)
    .execute(&mut *tx)
    .await?;
    let cart = load(&mut tx, owner, cart_id)
        .await?
        .ok_or(CartError::NotFound(cart_id))?;
    tx.commit().await?;
    Ok(cart)
}

/// Removes a line of `owner`'s cart (absent lines are fine). Returns the cart.
pub async fn remove_item(
    pool: &PgPool,
    owner: &Owner,
    cart_id: Uuid,
    sku: &str,
) -> Result<Cart, CartError> {
    if let Some(problem) = sku_problem(sku) {
        return Err(CartError::Invalid(problem));
    }
    let mut tx = pool.begin().await?;
    let locked: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM carts WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 FOR UPDATE",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .fetch_optional(&mut *tx)
    .await?;
    if locked.is_none() {
        return Err(CartError::NotFound(cart_id));
    }
    sqlx::query(
        "DELETE FROM cart_items WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 AND sku = $4",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .bind(sku)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE carts SET updated_at = now() WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .execute(&mut *tx)
    .await?;
    let cart = load(&mut tx, owner, cart_id)
        .await?
        .ok_or(CartError::NotFound(cart_id))?;
    tx.commit().await?;
    Ok(cart)
}

/// Takes the units bought by checkout saga `saga_id` out of `owner`'s cart, on the
/// caller's connection (the handler's transaction): each line loses at most the
/// quantity bought and is removed when it reaches 0; units added meanwhile stay.
/// Once per saga: a repeat removes nothing more and returns `None`. A missing cart
/// is fine. Returns the units removed.
pub async fn clear_bought(
    conn: &mut PgConnection,
    owner: &Owner,
    saga_id: Uuid,
    cart_id: Uuid,
    bought: &[(String, i32)],
) -> Result<Option<i64>, sqlx::Error> {
    let first: Option<i32> = sqlx::query_scalar(
        "INSERT INTO cart_clears (tenant_id, saga_id, user_id, cart_id, removed)
         VALUES ($1, $2, $3, $4, 0) ON CONFLICT (tenant_id, saga_id) DO NOTHING RETURNING 1",
    )
    .bind(&owner.tenant_id)
    .bind(saga_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .fetch_optional(&mut *conn)
    .await?;
    if first.is_none() {
        return Ok(None);
    }
    // The same SKU named twice is bought once, in the sum of both quantities.
    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    for (sku, quantity) in bought {
        if *quantity > 0 {
            *totals.entry(sku.as_str()).or_default() += i64::from(*quantity);
        }
    }
    sqlx::query(
        "SELECT 1 FROM carts WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 FOR UPDATE",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(cart_id)
    .execute(&mut *conn)
    .await?;
    let mut removed = 0i64;
    for (sku, quantity) in totals {
        let held: Option<i32> = sqlx::query_scalar(
            "SELECT quantity FROM cart_items
             WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 AND sku = $4",
        )
        .bind(&owner.tenant_id)
        .bind(&owner.user_id)
        .bind(cart_id)
        .bind(sku)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(held) = held else { continue };
        let held = i64::from(held);
        let take = held.min(quantity);
        // `take` <= `held`, an i32.
        let left = i32::try_from(held - take).unwrap_or_default();
        let sql = if left == 0 {
            "DELETE FROM cart_items
             WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 AND sku = $4"
        } else {
            "UPDATE cart_items SET quantity = $5, updated_at = now()
             WHERE tenant_id = $1 AND user_id = $2 AND cart_id = $3 AND sku = $4"
        };
        let query = sqlx::query(sql)
            .bind(&owner.tenant_id)
            .bind(&owner.user_id)
            .bind(cart_id)
            .bind(sku);
        let query = if left == 0 { query } else { query.bind(left) };
        query.execute(&mut *conn).await?;
        removed += take;
    }
    sqlx::query("UPDATE cart_clears SET removed = $3 WHERE tenant_id = $1 AND saga_id = $2")
        .bind(&owner.tenant_id)
        .bind(saga_id)
        .bind(removed)
        .execute(&mut *conn)
        .await?;
    Ok(Some(removed))
}
