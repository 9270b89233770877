//! Tax by shipping country: the `tax_rates` table (basis points; the migration
//! seeds standard rates, operators change rows). A `PriceOrder` without a
//! shipping country is taxed at [`crate::Settings::default_country`]'s rate; a
//! country without a row cannot be priced.

use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::config::parse_country;

/// A country's rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TaxRate {
    pub country: String,
    pub basis_points: i32,
}

/// The country (upper case) and rate for an order shipped to `shipping_country`
/// (else `default_country`), or why there is none; the reason names the country.
pub async fn rate_for(
    conn: &mut PgConnection,
    shipping_country: Option<&str>,
    default_country: &str,
) -> Result<Result<(String, u32), String>, sqlx::Error> {
    let requested = shipping_country
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(default_country);
    let Ok(country) = parse_country(requested) else {
        return Ok(Err(format!("invalid shipping country `{requested}`")));
    };
    let rate: Option<i32> =
        sqlx::query_scalar("SELECT basis_points FROM tax_rates WHERE country = $1")
            .bind(&country)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match rate.and_then(|r| u32::try_from(r).ok()) {
        Some(rate) => Ok((country, rate)),
        None => Err(format!("no tax rate for shipping country {country}")),
    })
}

/// Every rate, by country.
pub async fn list(pool: &PgPool) -> Result<Vec<TaxRate>, sqlx::Error> {
    sqlx::query_as("SELECT country, basis_points FROM tax_rates ORDER BY country")
        .fetch_all(pool)
        .await
}
