//! Effects in the participants' databases, per accepted checkout by its saga's end:
//! stock (inventory `stock`, `reservations`), money (payment's provider ledger
//! `sim_provider.charges` / `refunds`, the real-world side of a charge), orders
//! (order `orders`) and notifications (notification `sent_notifications`).

use std::collections::BTreeMap;

use sqlx::types::Json;
use uuid::Uuid;

use crate::databases::Databases;
use crate::error::Result;
use crate::load::Accepted;
use crate::report::Row;

#[derive(serde::Deserialize)]
struct Item {
    sku: String,
    quantity: i64,
}

fn status<'a>(statuses: &'a BTreeMap<Uuid, String>, id: &Uuid) -> &'a str {
    statuses.get(id).map(String::as_str).unwrap_or("none")
}

/// Per SKU: initial − units held by completed checkouts = current stock; and per
/// saga: a completed checkout holds its lines, a compensated one holds nothing.
pub async fn stock(
    dbs: &Databases,
    accepted: &[Accepted],
    statuses: &BTreeMap<Uuid, String>,
    initial: &BTreeMap<String, i64>,
) -> Result<Row> {
    let mut row = Row::new("stock conserved per SKU");
    let pool = dbs.pool("inventory");
    let ids: Vec<Uuid> = accepted.iter().map(|a| a.checkout_id).collect();
    let reservations: BTreeMap<Uuid, (String, Json<Vec<Item>>)> =
        sqlx::query_as::<_, (Uuid, String, Json<Vec<Item>>)>(
            "SELECT saga_id, status, items FROM reservations WHERE saga_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(id, s, items)| (id, (s, items)))
        .collect();
    let current: BTreeMap<String, i64> =
        sqlx::query_as::<_, (String, i32)>("SELECT sku, available FROM stock")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|(sku, n)| (sku, i64::from(n)))
            .collect();
    let mut held: BTreeMap<String, i64> = BTreeMap::new();
    for a in accepted {
        let end = status(statuses, &a.checkout_id);
        let reservation = reservations.get(&a.checkout_id);
        let holds = matches!(reservation, Some((s, _)) if s == "reserved");
        if holds && let Some((_, Json(items))) = reservation {
            for item in items {
                *held.entry(item.sku.clone()).or_insert(0) += item.quantity;
            }
        }
        match end {
            "completed" if !holds => row.violation(format!(
                "{} (completed, reservation {})",
                a.checkout_id,
                reservation.map(|(s, _)| s.as_str()).unwrap_or("missing")
            )),
            "completed" => {
                let mut want: Vec<(String, i64)> = a
                    .lines
                    .iter()
                    .map(|(s, q)| (s.clone(), i64::from(*q)))
                    .collect();
                want.sort();
                let mut got: Vec<(String, i64)> = reservation
                    .map(|(_, Json(items))| {
                        items.iter().map(|i| (i.sku.clone(), i.quantity)).collect()
                    })
                    .unwrap_or_default();
                got.sort();
                if want != got {
                    row.violation(format!(
                        "{} (reserved {got:?}, bought {want:?})",
                        a.checkout_id
                    ));
                }
            }
            "compensated" if holds => row.violation(format!(
                "{} (compensated, stock still reserved)",
                a.checkout_id
            )),
            _ => {}
        }
    }
    for (sku, start) in initial {
        row.check();
        let now = current.get(sku).copied().unwrap_or(0);
        let expected = start - held.get(sku).copied().unwrap_or(0);
        if now != expected {
            row.violation(format!(
                "{sku} (stock {now}, expected {expected} = {start} - held)"
            ));
        }
    }
    Ok(row)
}

/// Net charges (captured − refunded at the provider) per saga: 1 for a completed
/// checkout, 0 for a compensated one; and the payment row agrees.
pub async fn charges(
    dbs: &Databases,
    accepted: &[Accepted],
    statuses: &BTreeMap<Uuid, String>,
) -> Result<Row> {
    let mut row = Row::new("one net charge per completed, none per compensated");
    let pool = dbs.pool("payment");
    let refs: Vec<String> = accepted.iter().map(|a| a.checkout_id.to_string()).collect();
    let captured: BTreeMap<String, i64> = sqlx::query_as(
        "SELECT reference, count(*) FROM sim_provider.charges
         WHERE status = 'captured' AND reference = ANY($1) GROUP BY reference",
    )
    .bind(&refs)
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    let refunded: BTreeMap<String, i64> = sqlx::query_as(
        "SELECT c.reference, count(*) FROM sim_provider.refunds r
         JOIN sim_provider.charges c ON c.payment_id = r.payment_id
         WHERE c.reference = ANY($1) GROUP BY c.reference",
    )
    .bind(&refs)
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    let payments: BTreeMap<Uuid, String> =
        sqlx::query_as("SELECT saga_id, status FROM payments WHERE saga_id = ANY($1)")
            .bind(accepted.iter().map(|a| a.checkout_id).collect::<Vec<_>>())
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    for a in accepted {
        let key = a.checkout_id.to_string();
        let charged = captured.get(&key).copied().unwrap_or(0);
        let back = refunded.get(&key).copied().unwrap_or(0);
        let net = charged - back;
        let payment = payments
            .get(&a.checkout_id)
            .map(String::as_str)
            .unwrap_or("none");
        match status(statuses, &a.checkout_id) {
            "completed" => {
                row.check();
                if net != 1 || charged != 1 || payment != "captured" {
                    row.violation(format!(
                        "{} (completed: {charged} charged, {back} refunded, payment {payment})",
                        a.checkout_id
                    ));
                }
            }
            "compensated" => {
                row.check();
                if net != 0 || payment == "captured" || payment == "pending" {
                    row.violation(format!(
                        "{} (compensated: {charged} charged, {back} refunded, payment {payment})",
                        a.checkout_id
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(row)
}

/// A completed checkout has exactly its one created order; a compensated one none.
pub async fn orders(
    dbs: &Databases,
    accepted: &[Accepted],
    statuses: &BTreeMap<Uuid, String>,
) -> Result<Row> {
    let mut row = Row::new("one order per completed checkout");
    let orders: BTreeMap<Uuid, (String, Option<Uuid>)> =
        sqlx::query_as::<_, (Uuid, String, Option<Uuid>)>(
            "SELECT saga_id, status, order_id FROM orders WHERE saga_id = ANY($1)",
        )
        .bind(accepted.iter().map(|a| a.checkout_id).collect::<Vec<_>>())
        .fetch_all(dbs.pool("order"))
        .await?
        .into_iter()
        .map(|(id, s, o)| (id, (s, o)))
        .collect();
    for a in accepted {
        let order = orders.get(&a.checkout_id);
        let created = matches!(order, Some((s, Some(_))) if s == "created");
        let shown = order.map(|(s, _)| s.as_str()).unwrap_or("none");
        match status(statuses, &a.checkout_id) {
            "completed" => {
                row.check();
                if !created {
                    row.violation(format!("{} (completed, order {shown})", a.checkout_id));
                }
            }
            "compensated" => {
                row.check();
                if created {
                    row.violation(format!("{} (compensated, order {shown})", a.checkout_id));
                }
            }
            _ => {}
        }
    }
    Ok(row)
}

/// A completed checkout sent exactly one notification; a compensated one none.
pub async fn notifications(
    dbs: &Databases,
    accepted: &[Accepted],
    statuses: &BTreeMap<Uuid, String>,
) -> Result<Row> {
    let mut row = Row::new("one notification per completed checkout");
    let sent: BTreeMap<Uuid, i64> = sqlx::query_as(
        "SELECT saga_id, count(*) FROM sent_notifications WHERE saga_id = ANY($1) GROUP BY saga_id",
    )
    .bind(accepted.iter().map(|a| a.checkout_id).collect::<Vec<_>>())
    .fetch_all(dbs.pool("notification"))
    .await?
    .into_iter()
    .collect();
    for a in accepted {
        let n = sent.get(&a.checkout_id).copied().unwrap_or(0);
        let want = match status(statuses, &a.checkout_id) {
            "completed" => 1,
            "compensated" => 0,
            _ => continue,
        };
        row.check();
        if n != want {
            row.violation(format!("{} ({n} sent, want {want})", a.checkout_id));
        }
    }
    Ok(row)
}
