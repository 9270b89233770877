//! Discount codes: operators create and change them ([`upsert`], through the
//! operator API in [`crate::http`]); the `PriceOrder` handler looks them up
//! ([`lookup`]). Codes are platform-wide (operator data, not user data), upper
//! case, and matched case-insensitively (a customer's `save15` is `SAVE15`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use crate::price::Discount;

/// Longest accepted code.
pub const MAX_CODE_CHARS: usize = 32;

/// A code as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountCode {
    pub code: String,
    /// Whole percent of the subtotal (0..=100), for a percent code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_off: Option<i32>,
    /// Fixed amount in minor units of `currency`, for a fixed-amount code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// The body of `PUT /discounts/{code}`: exactly one of `percent_off` or
/// `amount_minor` + `currency`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountSpec {
    #[serde(default)]
    pub percent_off: Option<i32>,
    #[serde(default)]
    pub amount_minor: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

fn yes() -> bool {
    true
}

/// A refused code or body; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

/// `code` trimmed and upper case, if it is 1..=32 of `A-Z 0-9 - _`.
pub fn normalize_code(code: &str) -> Result<String, Invalid> {
    let code = code.trim().to_ascii_uppercase();
    let ok = (1..=MAX_CODE_CHARS).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(code)
    } else {
        Err(invalid(
            "code",
            format!("must be 1 to {MAX_CODE_CHARS} characters of A-Z, 0-9, - and _"),
        ))
    }
}

impl DiscountSpec {
    /// The discount it describes, or what is wrong with it.
    pub fn validate(&self) -> Result<(), Invalid> {
        match (
            self.percent_off,
            self.amount_minor,
            self.currency.as_deref(),
        ) {
            (Some(p), None, None) if (1..=100).contains(&p) => Ok(()),
            (Some(_), None, None) => Err(invalid("percent_off", "must be 1 to 100")),
            (None, Some(a), Some(c)) => {
                if a <= 0 {
                    return Err(invalid(
                        "amount_minor",
                        "must be a positive amount in minor units",
                    ));
                }
                if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(invalid("currency", "must be an ISO 4217 code such as EUR"));
                }
                Ok(())
            }
            (None, Some(_), None) => Err(invalid("currency", "is required with amount_minor")),
            (None, None, Some(_)) => Err(invalid("amount_minor", "is required with currency")),
            (None, None, None) => Err(invalid(
                "percent_off",
                "either percent_off or amount_minor with currency is required",
            )),
            (Some(_), _, _) => Err(invalid(
                "percent_off",
                "cannot be combined with amount_minor or currency",
            )),
        }
    }
}

/// Creates or replaces `code` (already normalized) as `spec` (already validated),
/// recording who changed it.
pub async fn upsert(
    pool: &PgPool,
    code: &str,
    spec: &DiscountSpec,
    by: &str,
) -> Result<DiscountCode, sqlx::Error> {
    let kind = if spec.percent_off.is_some() {
        "percent"
    } else {
        "fixed"
    };
    sqlx::query_as::<_, Row>(
        "INSERT INTO discount_codes (code, kind, percent_off, amount_minor, currency, active, expires_at, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8)
         ON CONFLICT (code) DO UPDATE SET kind = EXCLUDED.kind, percent_off = EXCLUDED.percent_off,
             amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency, active = EXCLUDED.active,
             expires_at = EXCLUDED.expires_at, updated_at = now(), updated_by = EXCLUDED.updated_by
         RETURNING code, percent_off, amount_minor, currency, active, expires_at, updated_at",
    )
    .bind(code)
    .bind(kind)
    .bind(spec.percent_off)
    .bind(spec.amount_minor)
    .bind(spec.currency.as_deref())
    .bind(spec.active)
    .bind(spec.expires_at)
    .bind(by)
    .fetch_one(pool)
    .await
    .map(into_code)
}

/// Every code, by code.
pub async fn list(pool: &PgPool) -> Result<Vec<DiscountCode>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT code, percent_off, amount_minor, currency, active, expires_at, updated_at
         FROM discount_codes ORDER BY code",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(into_code).collect())
}

/// The discount `code` gives an order in `currency` now, or why it gives none
/// (unknown, inactive, expired, or a fixed amount in another currency).
pub async fn lookup(
    conn: &mut PgConnection,
    code: &str,
    currency: &str,
) -> Result<Result<Discount, String>, sqlx::Error> {
    let Ok(normalized) = normalize_code(code) else {
        return Ok(Err(format!("unknown discount code {code}")));
    };
    // The code's terms, and whether it has expired by the database's clock.
    let row: Option<Terms> = sqlx::query_as(
        "SELECT percent_off, amount_minor, currency, active,
                    expires_at IS NOT NULL AND expires_at <= now()
             FROM discount_codes WHERE code = $1",
    )
    .bind(&normalized)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((percent_off, amount_minor, code_currency, active, expired)) = row else {
        return Ok(Err(format!("unknown discount code {code}")));
    };
    Ok(if !active {
        Err(format!("discount code {normalized} is inactive"))
    } else if expired {
        Err(format!("discount code {normalized} has expired"))
    } else {
        match (percent_off, amount_minor, code_currency) {
            (Some(p), _, _) => Ok(Discount::Percent(p)),
            (None, Some(amount), Some(c)) if c == currency => Ok(Discount::Fixed(amount)),
            (None, Some(_), Some(c)) => Err(format!(
                "discount code {normalized} is an amount in {c}, the order is in {currency}"
            )),
            _ => Err(format!("discount code {normalized} is invalid")),
        }
    })
}

/// A looked-up code: percent_off, amount_minor, currency, active, expired.
type Terms = (Option<i32>, Option<i64>, Option<String>, bool, bool);

type Row = (
    String,
    Option<i32>,
    Option<i64>,
    Option<String>,
    bool,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
);

fn into_code(row: Row) -> DiscountCode {
    let (code, percent_off, amount_minor, currency, active, expires_at, updated_at) = row;
    DiscountCode {
        code,
        percent_off,
        amount_minor,
        currency,
        active,
        expires_at,
        updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(percent: Option<i32>, amount: Option<i64>, currency: Option<&str>) -> DiscountSpec {
        DiscountSpec {
            percent_off: percent,
            amount_minor: amount,
            currency: currency.map(str::to_owned),
            active: true,
            expires_at: None,
        }
    }

    #[test]
    fn codes_and_bodies_are_checked_naming_the_field() {
        assert_eq!(normalize_code(" save15 ").as_deref(), Ok("SAVE15"));
        assert_eq!(normalize_code("").unwrap_err().field, "code");
        assert_eq!(normalize_code("NO SPACE").unwrap_err().field, "code");
        assert_eq!(normalize_code(&"A".repeat(33)).unwrap_err().field, "code");
        assert!(spec(Some(15), None, None).validate().is_ok());
        assert!(spec(None, Some(500), Some("EUR")).validate().is_ok());
        let field = |s: DiscountSpec| s.validate().unwrap_err().field;
        assert_eq!(field(spec(Some(0), None, None)), "percent_off");
        assert_eq!(field(spec(Some(101), None, None)), "percent_off");
        assert_eq!(field(spec(None, Some(0), Some("EUR"))), "amount_minor");
        assert_eq!(field(spec(None, Some(5), Some("eur"))), "currency");
        assert_eq!(field(spec(None, Some(5), None)), "currency");
        assert_eq!(field(spec(None, None, Some("EUR"))), "amount_minor");
        assert_eq!(field(spec(None, None, None)), "percent_off");
        assert_eq!(field(spec(Some(5), Some(5), Some("EUR"))), "percent_off");
    }
}
