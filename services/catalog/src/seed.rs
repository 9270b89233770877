//! The demo catalogue: a handful of products with EUR and USD prices, created at
//! start when `CATALOG_SEED_DEMO=true` (the dev environment sets it). Idempotent
//! and never overwrites: a product that exists is left as operators set it.
//! `MUG-BLUE` at 12.50 EUR is the product the demo buys.

use sqlx::PgPool;

use crate::product::{Price, ProductSpec};
use crate::store::{self, Change};

/// Who the seeded products are recorded as changed by.
pub const SEED_AUTHOR: &str = "seed";

fn product(name: &str, description: &str, eur: i64, usd: i64) -> ProductSpec {
    ProductSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        active: true,
        prices: vec![
            Price {
                currency: "EUR".to_owned(),
                amount_minor: eur,
            },
            Price {
                currency: "USD".to_owned(),
                amount_minor: usd,
            },
        ],
    }
}

/// The demo products: (SKU, spec), valid and with prices sorted by currency
/// (checked by a test).
pub fn demo_products() -> Vec<(&'static str, ProductSpec)> {
    vec![
        (
            "MUG-BLUE",
            product(
                "Blue mug",
                "A 330 ml stoneware mug, glazed blue.",
                1250,
                1350,
            ),
        ),
        (
            "MUG-RED",
            product("Red mug", "A 330 ml stoneware mug, glazed red.", 1250, 1350),
        ),
        (
            "TEA-SENCHA",
            product(
                "Sencha tea, 100 g",
                "Loose-leaf Japanese green tea.",
                890,
                990,
            ),
        ),
        (
            "COFFEE-BEANS",
            product(
                "Coffee beans, 500 g",
                "Medium roast, whole beans.",
                1490,
                1590,
            ),
        ),
        (
            "TOTE-BAG",
            product("Tote bag", "Organic cotton, 38 × 42 cm.", 990, 1090),
        ),
    ]
}

/// Creates the demo products that are missing (each with its `ProductChanged`);
/// returns how many it created.
pub async fn seed(pool: &PgPool) -> Result<usize, store::Error> {
    let mut created = 0;
    for (sku, spec) in demo_products() {
        if store::get(pool, sku).await?.is_some() {
            continue;
        }
        let (_, change) = store::put(pool, sku, &spec, SEED_AUTHOR).await?;
        if change == Change::Created {
            created += 1;
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::product::validate_sku;

    #[test]
    fn the_demo_catalogue_is_valid_and_has_the_demo_mug() {
        for (sku, spec) in demo_products() {
            validate_sku(sku).expect("valid SKU");
            assert_eq!(spec.clone().validated().as_ref(), Ok(&spec), "{sku}");
        }
        let (_, mug) = demo_products()
            .into_iter()
            .find(|(s, _)| *s == "MUG-BLUE")
            .expect("MUG-BLUE");
        assert_eq!(
            mug.prices[0],
            Price {
                currency: "EUR".into(),
                amount_minor: 1250
            }
        );
    }
}
