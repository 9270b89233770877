//! The price arithmetic, in integer minor units (no floating point).
//!
//! - `subtotal = Σ quantity × unit_price` (unit prices from the catalogue)
//! - `discount = round(subtotal × percent_off / 100)` for a percent code, or
//!   `min(amount, subtotal)` for a fixed-amount code (a total never goes negative)
//! - `tax = round((subtotal − discount) × tax_basis_points / 10 000)`, the rate of
//!   the shipping country
//! - `total = subtotal − discount + tax`
//!
//! Rounding is half up (…5 rounds away from zero; every amount is non-negative), done
//! once per step on exact 128-bit intermediates, on the order's totals (not per
//! line). Negative quantities or prices and amounts that do not fit in `i64` are
//! refused.

use sagaflow_events::messages::CheckoutItem;

/// A price breakdown in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breakdown {
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
}

/// Why an order cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("an order needs at least one item")]
    NoItems,
    #[error("invalid item {sku}: quantity {quantity}, unit price {unit_price_minor}")]
    InvalidItem {
        sku: String,
        quantity: i32,
        unit_price_minor: i64,
    },
    #[error("invalid discount of {0} percent")]
    InvalidDiscount(i32),
    #[error("invalid fixed discount of {0}")]
    InvalidFixedDiscount(i64),
    #[error("invalid tax rate of {0} basis points")]
    InvalidTaxRate(u32),
    #[error("the order total is too large")]
    Overflow,
}

/// A discount code's worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// No code.
    None,
    /// A whole percent (0..=100) of the subtotal.
    Percent(i32),
    /// A fixed amount in the order's currency (minor units, > 0), capped at the subtotal.
    Fixed(i64),
}

/// `numerator / denominator` rounded half up, for non-negative values.
fn div_half_up(numerator: i128, denominator: i128) -> i128 {
    (numerator + denominator / 2) / denominator
}

fn to_i64(value: i128) -> Result<i64, PriceError> {
    i64::try_from(value).map_err(|_| PriceError::Overflow)
}

/// Prices `items` with a discount and a tax rate in basis points (0..=10 000).
pub fn price(
    items: &[CheckoutItem],
    discount: Discount,
    tax_basis_points: u32,
) -> Result<Breakdown, PriceError> {
    if items.is_empty() {
        return Err(PriceError::NoItems);
    }
    match discount {
        Discount::Percent(p) if !(0..=100).contains(&p) => {
            return Err(PriceError::InvalidDiscount(p));
        }
        Discount::Fixed(amount) if amount <= 0 => {
            return Err(PriceError::InvalidFixedDiscount(amount));
        }
        _ => {}
    }
    if tax_basis_points > 10_000 {
        return Err(PriceError::InvalidTaxRate(tax_basis_points));
    }
    let mut subtotal: i128 = 0;
    for item in items {
        if item.quantity <= 0 || item.unit_price_minor < 0 {
            return Err(PriceError::InvalidItem {
                sku: item.sku.clone(),
                quantity: item.quantity,
                unit_price_minor: item.unit_price_minor,
            });
        }
        // i32 × i64 fits in i128; the running sum is checked against i64 each step.
        subtotal += i128::from(item.quantity) * i128::from(item.unit_price_minor);
        to_i64(subtotal)?;
    }
    let discount = match discount {
        Discount::None => 0,
        Discount::Percent(p) => div_half_up(subtotal * i128::from(p), 100),
        Discount::Fixed(amount) => i128::from(amount).min(subtotal),
    };
    let taxable = subtotal - discount;
    let tax = div_half_up(taxable * i128::from(tax_basis_points), 10_000);
    Ok(Breakdown {
        subtotal_minor: to_i64(subtotal)?,
        discount_minor: to_i64(discount)?,
        tax_minor: to_i64(tax)?,
        total_minor: to_i64(taxable + tax)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(quantity: i32, unit_price_minor: i64) -> CheckoutItem {
        CheckoutItem {
            sku: "S".into(),
            quantity,
            unit_price_minor,
        }
    }

    #[test]
    fn rounds_half_up_per_step() {
        // 3 × 333 = 999; 15% of 999 = 149.85 → 150; tax 20% of 849 = 169.8 → 170.
        let b = price(&[item(3, 333)], Discount::Percent(15), 2000).expect("prices");
        assert_eq!(
            b,
            Breakdown {
                subtotal_minor: 999,
                discount_minor: 150,
                tax_minor: 170,
                total_minor: 1019
            }
        );
        // Exactly half: 10% of 5 = 0.5 → 1; tax 10% of 4 = 0.4 → 0.
        let b = price(&[item(1, 5)], Discount::Percent(10), 1000).expect("prices");
        assert_eq!((b.discount_minor, b.tax_minor, b.total_minor), (1, 0, 4));
        // A fixed amount comes off before tax, and never below zero.
        let b = price(&[item(2, 1250)], Discount::Fixed(500), 1900).expect("prices");
        // 2500 − 500 = 2000; 19% = 380.
        assert_eq!(
            (b.discount_minor, b.tax_minor, b.total_minor),
            (500, 380, 2380)
        );
        let b = price(&[item(1, 300)], Discount::Fixed(1000), 1900).expect("prices");
        assert_eq!((b.discount_minor, b.tax_minor, b.total_minor), (300, 0, 0));
        // 100% off leaves nothing to tax.
        let b = price(&[item(2, 50)], Discount::Percent(100), 2000).expect("prices");
        assert_eq!(
            (
                b.subtotal_minor,
                b.discount_minor,
                b.tax_minor,
                b.total_minor
            ),
            (100, 100, 0, 0)
        );
    }

    #[test]
    fn refuses_bad_input_and_overflow() {
        let none = Discount::None;
        assert_eq!(price(&[], none, 0), Err(PriceError::NoItems));
        assert!(matches!(
            price(&[item(0, 1)], none, 0),
            Err(PriceError::InvalidItem { .. })
        ));
        assert!(matches!(
            price(&[item(1, -1)], none, 0),
            Err(PriceError::InvalidItem { .. })
        ));
        assert_eq!(
            price(&[item(1, 1)], Discount::Percent(101), 0),
            Err(PriceError::InvalidDiscount(101))
        );
        assert_eq!(
            price(&[item(1, 1)], Discount::Fixed(0), 0),
            Err(PriceError::InvalidFixedDiscount(0))
        );
        assert_eq!(
            price(&[item(1, 1)], none, 10_001),
            Err(PriceError::InvalidTaxRate(10_001))
        );
        assert_eq!(
            price(&[item(2, i64::MAX)], none, 0),
            Err(PriceError::Overflow)
        );
        // The subtotal fits, the taxed total does not.
        assert_eq!(
            price(&[item(1, i64::MAX - 1)], none, 2000),
            Err(PriceError::Overflow)
        );
    }
}
