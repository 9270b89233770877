//! `sagaflow orders`: the operator's view of a tenant's orders, with their
//! refunds and cancellation, through the order service's operator API
//! (`GET /operator/orders`). The same operator token as `sagaflow saga`:
//! `SAGAFLOW_OPERATOR_TOKEN`, else one minted for five minutes from
//! `SAGAFLOW_OPERATOR_JWT_SECRET`.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use super::Output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The tenant whose orders to list (required unless the token is limited to one).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only this user's orders.
    #[arg(long)]
    pub user: Option<String>,
    /// Only orders in this status (`created`, `cancelled`).
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// The order service's API.
    #[arg(
        long = "api",
        env = "SAGAFLOW_ORDER_API",
        value_name = "SAGAFLOW_ORDER_API",
        default_value = "http://127.0.0.1:8082"
    )]
    pub api: String,
    /// An operator token (else one is minted from `SAGAFLOW_OPERATOR_JWT_SECRET`).
    #[arg(
        long = "operator-token",
        env = "SAGAFLOW_OPERATOR_TOKEN",
        value_name = "SAGAFLOW_OPERATOR_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    #[command(flatten)]
    pub signing: super::token::OperatorSigning,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let token = match &args.token {
        Some(token) if !token.trim().is_empty() => token.trim().to_owned(),
        _ => args
            .signing
            .mint("sagaflow-cli", None, Duration::from_secs(300))
            .context(
                "the order service's operator API needs a token: set SAGAFLOW_OPERATOR_TOKEN \
                 or SAGAFLOW_OPERATOR_JWT_SECRET",
            )?,
    };
    let base = args.api.trim_end_matches('/');
    let mut query: Vec<(&str, String)> = vec![("limit", args.limit.to_string())];
    for (key, value) in [
        ("tenant_id", &args.tenant),
        ("user_id", &args.user),
        ("status", &args.status),
    ] {
        if let Some(value) = value {
            query.push((key, value.clone()));
        }
    }
    let response = reqwest::Client::new()
        .get(format!("{base}/operator/orders"))
        .query(&query)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("calling the order service at {base}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .context("reading the order service's answer")?;
    if !status.is_success() {
        bail!(
            "the order service answered {status}: {}",
            super::problem_text(&body)
        );
    }
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&body)?),
        Output::Table => print!("{}", table(&body)),
    }
    Ok(())
}

/// One line per order: id, tenant, user, status, paid, refunded, refunds.
fn table(body: &Value) -> String {
    let mut out = format!(
        "{:<36}  {:<12}  {:<16}  {:<9}  {:>12}  {:>12}  {}\n",
        "ORDER", "TENANT", "USER", "STATUS", "PAID", "REFUNDED", "REFUNDS"
    );
    for order in body["orders"].as_array().into_iter().flatten() {
        let currency = order["currency"].as_str().unwrap_or("");
        let money = |key: &str| {
            let minor = order[key].as_i64().unwrap_or(0);
            format!("{}.{:02} {currency}", minor / 100, (minor % 100).abs())
        };
        let text = |key: &str| order[key].as_str().unwrap_or("-").to_owned();
        out.push_str(&format!(
            "{:<36}  {:<12}  {:<16}  {:<9}  {:>12}  {:>12}  {}\n",
            text("order_id"),
            text("tenant_id"),
            text("user_id"),
            text("status"),
            money("total_minor"),
            money("refunded_minor"),
            order["refunds"].as_array().map_or(0, Vec::len),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_has_one_line_per_order_with_its_money() {
        let body = json!({"orders": [{
            "order_id": "0192f0a0-0000-7000-8000-000000000001", "tenant_id": "acme",
            "user_id": "ada", "status": "cancelled", "total_minor": 4463,
            "refunded_minor": 1487, "currency": "EUR", "refunds": [{}, {}]
        }]});
        let table = table(&body);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("ORDER"));
        for part in ["acme", "ada", "cancelled", "44.63 EUR", "14.87 EUR"] {
            assert!(lines[1].contains(part), "{part} in {}", lines[1]);
        }
        assert!(lines[1].ends_with(" 2"));
    }
}
