//! PostgreSQL: products and prices. Every change bumps the SKU's `version` and
//! writes the whole product as `ProductChanged` to the outbox in the same
//! transaction (the relay publishes it on `catalog.events`, keyed by SKU).

use chrono::{DateTime, Utc};
use sagaflow_bus::{Outgoing, outbox};
use sagaflow_events::messages::{ProductChanged, ProductPrice};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use crate::product::{Price, Product, ProductSpec};

/// The tenant named in the envelope of catalogue events: the catalogue is
/// platform-wide.
pub const CATALOG_TENANT: &str = "platform";

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("encoding ProductChanged: {0}")]
    Encode(#[from] sagaflow_events::Error),
}

/// What a PUT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    /// The product already was exactly this: no new version, no event.
    Unchanged,
}

const SELECT: &str = "SELECT p.sku, p.name, p.description, p.active, p.version, p.updated_at,
        COALESCE((SELECT json_agg(json_build_object('currency', pp.currency, 'amount_minor', pp.amount_minor)
                                  ORDER BY pp.currency)
                  FROM product_prices pp WHERE pp.sku = p.sku), '[]'::json) AS prices
     FROM products p";

type Row = (
    String,
    String,
    String,
    bool,
    i64,
    DateTime<Utc>,
    Json<Vec<Price>>,
);

fn product((sku, name, description, active, version, updated_at, prices): Row) -> Product {
    Product {
        sku,
        name,
        description,
        active,
        prices: prices.0,
        version,
        updated_at,
    }
}

/// Creates or replaces `sku` (validated) with `spec` (validated, prices sorted);
/// `by` is recorded as the author. Idempotent: the same content again changes
/// nothing and publishes nothing.
pub async fn put(
    pool: &PgPool,
    sku: &str,
    spec: &ProductSpec,
    by: &str,
) -> Result<(Product, Change), Error> {
    let mut tx = pool.begin().await?;
    let current = fetch(&mut tx, sku, true).await?;
    if let Some(current) = &current
        && current.name == spec.name
        && current.description == spec.description
        && current.active == spec.active
        && current.prices == spec.prices
    {
        tx.commit().await?;
        return Ok((current.clone(), Change::Unchanged));
    }
    // The version is computed by the statement: a concurrent first PUT of the
    // same SKU waits for the row and becomes version 2.
    let (version, updated_at): (i64, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO products (sku, name, description, active, version, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, 1, now(), $5)
         ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description,
             active = EXCLUDED.active, version = products.version + 1, updated_at = now(),
             updated_by = EXCLUDED.updated_by
         RETURNING version, updated_at",
    )
    .bind(sku)
    .bind(&spec.name)
    .bind(&spec.description)
    .bind(spec.active)
    .bind(by)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM product_prices WHERE sku = $1")
        .bind(sku)
        .execute(&mut *tx)
        .await?;
    let currencies: Vec<&str> = spec.prices.iter().map(|p| p.currency.as_str()).collect();
    let amounts: Vec<i64> = spec.prices.iter().map(|p| p.amount_minor).collect();
    sqlx::query(
        "INSERT INTO product_prices (sku, currency, amount_minor)
         SELECT $1, c, a FROM UNNEST($2::text[], $3::bigint[]) AS t(c, a)",
    )
    .bind(sku)
    .bind(&currencies)
    .bind(&amounts)
    .execute(&mut *tx)
    .await?;
    let stored = Product {
        sku: sku.to_owned(),
        name: spec.name.clone(),
        description: spec.description.clone(),
        active: spec.active,
        prices: spec.prices.clone(),
        version,
        updated_at,
    };
    outbox::enqueue(&mut tx, &[changed_message(&stored)?]).await?;
    tx.commit().await?;
    let change = if current.is_some() {
        Change::Updated
    } else {
        Change::Created
    };
    metrics::counter!("sagaflow_catalog_product_changes_total").increment(1);
    Ok((stored, change))
}

/// The `ProductChanged` of `product`, for the outbox (keyed by SKU).
pub fn changed_message(product: &Product) -> Result<Outgoing, sagaflow_events::Error> {
    let event = ProductChanged {
        sku: product.sku.clone(),
        name: product.name.clone(),
        description: product.description.clone(),
        active: product.active,
        prices: product
            .prices
            .iter()
            .map(|p| ProductPrice {
                currency: p.currency.clone(),
                amount_minor: p.amount_minor,
            })
            .collect(),
        version: product.version,
        at_ms: product.updated_at.timestamp_millis(),
    };
    Outgoing::new(CATALOG_TENANT, None, product.sku.clone(), &event)
}

async fn fetch(
    conn: &mut PgConnection,
    sku: &str,
    for_update: bool,
) -> Result<Option<Product>, sqlx::Error> {
    let lock = if for_update { " FOR UPDATE OF p" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE p.sku = $1{lock}"))
        .bind(sku)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(product))
}

/// One product.
pub async fn get(pool: &PgPool, sku: &str) -> Result<Option<Product>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    fetch(&mut conn, sku, false).await
}

/// A page of products by SKU: those after `after`, matching `text` (in SKU, name
/// or description, case-insensitive) when given, at most `limit`.
pub async fn list(
    pool: &PgPool,
    text: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Product>, sqlx::Error> {
    let pattern = text.map(|t| {
        let escaped = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT}
         WHERE ($1::text IS NULL OR p.sku ILIKE $1 OR p.name ILIKE $1 OR p.description ILIKE $1)
           AND ($2::text IS NULL OR p.sku > $2)
         ORDER BY p.sku LIMIT $3"
    ))
    .bind(pattern)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(product).collect())
}
