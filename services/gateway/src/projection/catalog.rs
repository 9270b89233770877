//! The product read model: [`CatalogProjection`] consumes `catalog.events`
//! (inbox consumer [`CONSUMER`], its own group so a busy saga log never delays
//! the catalogue) and keeps one `products` row per SKU, the `ProductChanged` with
//! the highest `version` winning. The catalogue is the shop's, not a tenant's:
//! the rows have no owner and the envelope's tenant is not used.
//!
//! Read by `GET /v1/products`, `GET /v1/products/{sku}` (`routes::products`) and
//! by `POST /v1/checkouts`, which refuses a SKU that is unknown here, inactive, or
//! without a price in the checkout's currency ([`find`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{ProductChanged, ProductPrice};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use tracing::debug;

/// The inbox consumer name and consumer group of [`CatalogProjection`].
pub const CONSUMER: &str = "gateway-catalog";

/// The handler of `ProductChanged`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogProjection;

impl Handler for CatalogProjection {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        match message.message_type() {
            ProductChanged::MESSAGE_TYPE => {
                upsert(tx, &message.decode::<ProductChanged>()?).await?;
            }
            other => debug!(message_type = other, "not a catalogue change; ignored"),
        }
        Ok(Vec::new())
    }
}

/// A unit price in one currency, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Price {
    /// ISO 4217 code.
    pub currency: String,
    /// Unit price in minor units (cents).
    pub amount_minor: i64,
}

/// One product of the read model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub description: String,
    /// An inactive product is shown but cannot be bought.
    pub active: bool,
    #[schema(value_type = Vec<Price>)]
    pub prices: Json<Vec<Price>>,
    /// Increases with every change of the product (the `ETag` is made from it).
    pub version: i64,
    pub changed_at: DateTime<Utc>,
}

impl Product {
    /// Its unit price in `currency`, if it has one.
    pub fn price_in(&self, currency: &str) -> Option<i64> {
        self.prices
            .iter()
            .find(|p| p.currency == currency)
            .map(|p| p.amount_minor)
    }
}

/// The columns of [`Product`].
pub const COLUMNS: &str = "sku, name, description, active, prices, version, changed_at";

/// Stores `change` unless the SKU already has this or a newer version;
/// `Ok(true)` when it was stored.
pub async fn upsert(tx: &mut PgConnection, change: &ProductChanged) -> Result<bool, Failure> {
    if change.sku.is_empty() {
        return Err(Failure::Poison("ProductChanged without a sku".into()));
    }
    let changed_at = DateTime::<Utc>::from_timestamp_millis(change.at_ms)
        .ok_or_else(|| Failure::Poison(format!("at_ms {} is not a valid time", change.at_ms)))?;
    let prices: Vec<Price> = change
        .prices
        .iter()
        .map(
            |ProductPrice {
                 currency,
                 amount_minor,
             }| Price {
                currency: currency.clone(),
                amount_minor: *amount_minor,
            },
        )
        .collect();
    let stored = sqlx::query(
        "INSERT INTO products (sku, name, description, active, prices, version, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (sku) DO UPDATE SET
             name = EXCLUDED.name, description = EXCLUDED.description,
             active = EXCLUDED.active, prices = EXCLUDED.prices,
             version = EXCLUDED.version, changed_at = EXCLUDED.changed_at,
             projected_at = now()
         WHERE products.version < EXCLUDED.version",
    )
    .bind(&change.sku)
    .bind(&change.name)
    .bind(&change.description)
    .bind(change.active)
    .bind(Json(&prices))
    .bind(change.version)
    .bind(changed_at)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if stored {
        metrics::counter!("sagaflow_gateway_products_projected_total").increment(1);
    } else {
        debug!(sku = %change.sku, version = change.version, "older or same product version; ignored");
    }
    Ok(stored)
}

/// The products of `skus` that the read model knows, by SKU.
pub async fn find<'e>(
    executor: impl PgExecutor<'e>,
    skus: &[String],
) -> Result<HashMap<String, Product>, sqlx::Error> {
    let rows: Vec<Product> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM products WHERE sku = ANY($1)"
    ))
    .bind(skus)
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|p| (p.sku.clone(), p)).collect())
}
