//! Products as the API takes and shows them, and their validation.
//!
//! A SKU is 1..=64 of `A-Z 0-9 -`; a name 1..=200 characters; a description at
//! most 2 000; prices at least one, each a positive amount in minor units with an
//! ISO 4217 code (three upper-case letters), one per currency.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest SKU.
pub const MAX_SKU_CHARS: usize = 64;
/// Longest name.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Most prices (currencies) per product.
pub const MAX_PRICES: usize = 32;

/// A unit price in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// Minor units (cents), > 0.
    pub amount_minor: i64,
}

/// The body of `PUT /products/{sku}`: the whole product.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// An inactive product cannot be bought (default true).
    #[serde(default = "yes")]
    pub active: bool,
    pub prices: Vec<Price>,
}

fn yes() -> bool {
    true
}

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub description: String,
    pub active: bool,
    /// Prices sorted by currency.
    pub prices: Vec<Price>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// A refused field; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// `sku` if it is 1..=64 of `A-Z 0-9 -`.
pub fn validate_sku(sku: &str) -> Result<(), Invalid> {
    let ok = (1..=MAX_SKU_CHARS).contains(&sku.len())
        && sku
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "sku",
            format!("must be 1 to {MAX_SKU_CHARS} characters of A-Z, 0-9 and -"),
        ))
    }
}

/// Whether `code` looks like an ISO 4217 code (three upper-case letters).
pub fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

impl ProductSpec {
    /// The spec with trimmed text and prices sorted by currency, or the first
    /// field that is wrong.
    pub fn validated(mut self) -> Result<Self, Invalid> {
        self.name = self.name.trim().to_owned();
        self.description = self.description.trim().to_owned();
        let name_chars = self.name.chars().count();
        if name_chars == 0 || name_chars > MAX_NAME_CHARS {
            return Err(invalid(
                "name",
                format!("must be 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(invalid(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if self.prices.is_empty() || self.prices.len() > MAX_PRICES {
            return Err(invalid(
                "prices",
                format!("must list 1 to {MAX_PRICES} prices"),
            ));
        }
        for (n, price) in self.prices.iter().enumerate() {
            if !is_currency(&price.currency) {
                return Err(invalid(
                    format!("prices[{n}].currency"),
                    "must be an ISO 4217 code such as EUR",
                ));
            }
            if price.amount_minor <= 0 {
                return Err(invalid(
                    format!("prices[{n}].amount_minor"),
                    "must be a positive amount in minor units",
                ));
            }
        }
        self.prices.sort_by(|a, b| a.currency.cmp(&b.currency));
        if let Some(pair) = self
            .prices
            .windows(2)
            .find(|w| w[0].currency == w[1].currency)
        {
            return Err(invalid(
                "prices",
                format!("lists {} twice", pair[0].currency),
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, prices: &[(&str, i64)]) -> ProductSpec {
        ProductSpec {
            name: name.into(),
            description: String::new(),
            active: true,
            prices: prices
                .iter()
                .map(|(c, a)| Price {
                    currency: (*c).into(),
                    amount_minor: *a,
                })
                .collect(),
        }
    }

    #[test]
    fn skus_and_specs_are_checked_naming_the_field() {
        assert!(validate_sku("MUG-BLUE").is_ok());
        assert_eq!(validate_sku("mug").unwrap_err().field, "sku");
        assert_eq!(validate_sku("").unwrap_err().field, "sku");
        assert_eq!(validate_sku(&"A".repeat(65)).unwrap_err().field, "sku");
        assert_eq!(validate_sku("A_B").unwrap_err().field, "sku");

        let ok = spec(" Mug ", &[("USD", 1400), ("EUR", 1250)])
            .validated()
            .unwrap();
        assert_eq!(ok.name, "Mug");
        assert_eq!(ok.prices[0].currency, "EUR", "sorted by currency");
        let field = |s: ProductSpec| s.validated().unwrap_err().field;
        assert_eq!(field(spec("  ", &[("EUR", 1)])), "name");
        assert_eq!(field(spec(&"n".repeat(201), &[("EUR", 1)])), "name");
        assert_eq!(field(spec("Mug", &[])), "prices");
        assert_eq!(field(spec("Mug", &[("EUR", 0)])), "prices[0].amount_minor");
        assert_eq!(
            field(spec("Mug", &[("EUR", 5), ("euro", 5)])),
            "prices[1].currency"
        );
        assert_eq!(field(spec("Mug", &[("EUR", 5), ("EUR", 6)])), "prices");
        let mut long = spec("Mug", &[("EUR", 1)]);
        long.description = "d".repeat(2001);
        assert_eq!(field(long), "description");
    }
}
