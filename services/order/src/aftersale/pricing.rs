//! Pure arithmetic of refunds: what an order's lines allow and what a refund
//! costs, priced from the order's stored lines (never from a command).
//!
//! The stored unit prices are the catalogue's, before the order's tax and
//! discount, and the customer paid `total_minor`. A refund of some lines is
//! their share of what was paid: `total × lines' price / order's price`, rounded
//! down; the refund that takes the last units gets the rest, so the refunds of an
//! order add up to its total exactly and never exceed it.

use std::collections::HashMap;

use sagaflow_events::messages::{CheckoutItem, OrderLine};
use uuid::Uuid;

/// One SKU of an order: the quantity bought (its lines summed) and the unit
/// price of its first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bought {
    pub sku: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

/// The order's SKUs in the order of their first line.
pub fn bought(items: &[CheckoutItem]) -> Vec<Bought> {
    let mut out: Vec<Bought> = Vec::new();
    for item in items {
        match out.iter_mut().find(|b| b.sku == item.sku) {
            Some(b) => b.quantity += i64::from(item.quantity),
            None => out.push(Bought {
                sku: item.sku.clone(),
                quantity: i64::from(item.quantity),
                unit_price_minor: item.unit_price_minor,
            }),
        }
    }
    out
}

/// Whether every unit bought has a confirmed refund.
pub fn fully_refunded(items: &[CheckoutItem], confirmed: &HashMap<String, i64>) -> bool {
    bought(items)
        .iter()
        .all(|b| confirmed.get(&b.sku).copied().unwrap_or_default() >= b.quantity)
}

/// What an order's earlier refunds (reserved or confirmed) already hold.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    /// What the customer paid for the order.
    pub total_minor: i64,
    /// The amount the earlier refunds hold.
    pub held_minor: i64,
    /// The quantity per SKU they hold.
    pub taken: &'a HashMap<String, i64>,
}

/// `lines` priced from the order's `items` (same SKUs summed, in the order of
/// their first line) and their amount: their share of what was paid (see the
/// module docs). `Err` is the refusal's reason.
pub fn price_refund(
    order_id: Uuid,
    items: &[CheckoutItem],
    held: &Held<'_>,
    lines: &[OrderLine],
) -> Result<(Vec<CheckoutItem>, i64), String> {
    let taken = held.taken;
    if lines.is_empty() {
        return Err("a refund needs at least one line".to_owned());
    }
    if let Some(line) = lines.iter().find(|l| l.quantity <= 0) {
        return Err(format!(
            "invalid quantity {} of {}: a refund line needs a quantity above 0",
            line.quantity, line.sku
        ));
    }
    let bought = bought(items);
    let mut wanted: Vec<(String, i64)> = Vec::new();
    for line in lines {
        match wanted.iter_mut().find(|(sku, _)| *sku == line.sku) {
            Some((_, quantity)) => *quantity += i64::from(line.quantity),
            None => wanted.push((line.sku.clone(), i64::from(line.quantity))),
        }
    }
    let mut priced = Vec::with_capacity(wanted.len());
    let mut amount: i64 = 0;
    for (sku, quantity) in wanted {
        let Some(b) = bought.iter().find(|b| b.sku == sku) else {
            return Err(format!("{sku} is not in order {order_id}"));
        };
        let left = b.quantity - taken.get(&sku).copied().unwrap_or_default();
        if quantity > left {
            return Err(format!("only {} of {sku} is left to refund", left.max(0)));
        }
        let cost = quantity
            .checked_mul(b.unit_price_minor)
            .and_then(|cost| amount.checked_add(cost))
            .ok_or_else(|| format!("the refund of {sku} is too large"))?;
        amount = cost;
        let quantity =
            i32::try_from(quantity).map_err(|_| format!("the quantity of {sku} is too large"))?;
        priced.push(CheckoutItem {
            sku,
            quantity,
            unit_price_minor: b.unit_price_minor,
        });
    }
    let list_price: i128 = bought
        .iter()
        .map(|b| i128::from(b.quantity) * i128::from(b.unit_price_minor))
        .sum();
    let left_minor = held.total_minor.saturating_sub(held.held_minor).max(0);
    let takes_the_rest = bought.iter().all(|b| {
        let asked = priced
            .iter()
            .filter(|p| p.sku == b.sku)
            .map(|p| i64::from(p.quantity))
            .sum::<i64>();
        taken.get(&b.sku).copied().unwrap_or_default() + asked >= b.quantity
    });
    let share = if takes_the_rest {
        left_minor
    } else if list_price > 0 {
        let share = i128::from(held.total_minor) * i128::from(amount) / list_price;
        i64::try_from(share).unwrap_or(i64::MAX).min(left_minor)
    } else {
        0
    };
    if share <= 0 {
        return Err(format!(
            "nothing is left to refund for these lines of order {order_id}"
        ));
    }
    Ok((priced, share))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(sku: &str, quantity: i32, unit_price_minor: i64) -> CheckoutItem {
        CheckoutItem {
            sku: sku.into(),
            quantity,
            unit_price_minor,
        }
    }

    fn line(sku: &str, quantity: i32) -> OrderLine {
        OrderLine {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn prices_from_the_order_summing_lines_of_one_sku() {
        let order = [item("SKU-1", 3, 1000), item("SKU-2", 1, 250)];
        let taken = HashMap::from([("SKU-1".to_owned(), 1)]);
        // Paid as listed: the lines' price is their share.
        let held = Held {
            total_minor: 3250,
            held_minor: 1000,
            taken: &taken,
        };
        let (priced, amount) = price_refund(
            Uuid::nil(),
            &order,
            &held,
            &[line("SKU-1", 1), line("SKU-2", 1)],
        )
        .expect("priced");
        assert_eq!(priced, vec![item("SKU-1", 1, 1000), item("SKU-2", 1, 250)]);
        assert_eq!(amount, 1250);
        let (priced, _) = price_refund(
            Uuid::nil(),
            &order,
            &held,
            &[line("SKU-1", 1), line("SKU-1", 1)],
        )
        .expect("priced");
        assert_eq!(priced, vec![item("SKU-1", 2, 1000)]);
    }

    #[test]
    fn a_refund_is_its_share_of_what_was_paid_and_the_last_takes_the_rest() {
        // Three mugs at 12.50 with 19 % tax: 44.63 paid (rounded by pricing).
        let order = [item("MUG", 3, 1250)];
        let none = HashMap::new();
        let paid = |held_minor, taken| Held {
            total_minor: 4463,
            held_minor,
            taken,
        };
        let (_, first) =
            price_refund(Uuid::nil(), &order, &paid(0, &none), &[line("MUG", 1)]).expect("a third");
        assert_eq!(first, 1487, "a third of 44.63, rounded down");
        let one = HashMap::from([("MUG".to_owned(), 1)]);
        let (_, second) = price_refund(Uuid::nil(), &order, &paid(first, &one), &[line("MUG", 1)])
            .expect("another third");
        assert_eq!(second, 1487);
        let two = HashMap::from([("MUG".to_owned(), 2)]);
        let (_, last) = price_refund(
            Uuid::nil(),
            &order,
            &paid(first + second, &two),
            &[line("MUG", 1)],
        )
        .expect("the rest");
        assert_eq!(
            first + second + last,
            4463,
            "the refunds add up to what was paid"
        );
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let order = [item("SKU-1", 2, 1000)];
        let taken = HashMap::from([("SKU-1".to_owned(), 1)]);
        let id = Uuid::nil();
        let held = Held {
            total_minor: 2000,
            held_minor: 1000,
            taken: &taken,
        };
        let refuse = |lines: &[OrderLine]| price_refund(id, &order, &held, lines).unwrap_err();
        assert_eq!(refuse(&[]), "a refund needs at least one line");
        assert!(refuse(&[line("SKU-1", 0)]).contains("invalid quantity 0 of SKU-1"));
        assert_eq!(
            refuse(&[line("SKU-9", 1)]),
            format!("SKU-9 is not in order {id}")
        );
        assert_eq!(
            refuse(&[line("SKU-1", 2)]),
            "only 1 of SKU-1 is left to refund"
        );
    }

    #[test]
    fn fully_refunded_needs_every_unit_confirmed() {
        let order = [item("A", 2, 1), item("B", 1, 1), item("A", 1, 1)];
        let mut confirmed = HashMap::from([("A".to_owned(), 3)]);
        assert!(!fully_refunded(&order, &confirmed));
        confirmed.insert("B".to_owned(), 1);
        assert!(fully_refunded(&order, &confirmed));
    }
}
