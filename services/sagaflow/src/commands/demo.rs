//! `sagaflow demo`: the platform's main job, end to end through the gateway. It
//! waits until the catalogue's demo products are visible (`GET
//! /v1/products/MUG-BLUE`; the catalogue service seeds them with
//! `CATALOG_SEED_DEMO=true`), then runs a checkout that completes, one whose
//! payment is declined and is compensated, a checkout of a cart (lines put with
//! `PUT /v1/carts/{id}/items/{sku}`, then `POST /v1/checkouts` with the `cart_id`
//! only), a cover letter, and the assistant buying a mug. No request names a
//! price: the pricing step takes them from the catalogue and adds the tax of the
//! shipping country. Requests carry a bearer token for user `ada` of tenant
//! `demo`, minted with `GATEWAY_JWT_HS256_SECRET` (see `sagaflow token`).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::commands::Database;
use crate::commands::token::Signing;
use crate::platform::{self, Service};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The gateway's base URL.
    #[arg(
        long = "gateway",
        env = "SAGAFLOW_GATEWAY_URL",
        value_name = "SAGAFLOW_GATEWAY_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub gateway: String,
    /// Where to seed stock for the demo SKU.
    #[command(flatten)]
    pub database: Database,
    /// Give up waiting for a saga after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
    /// How the demo user's token is signed.
    #[command(flatten)]
    pub signing: Signing,
}

const SKU: &str = "MUG-BLUE";
const TENANT: &str = "demo";
const USER: &str = "ada";

pub async fn run(args: Args) -> anyhow::Result<()> {
    let url = args.database.url_for(Service::Inventory).await?;
    let pool = platform::connect(&url, 2).await?;
    platform::migrate(Service::Inventory, &pool).await?;
    sagaflow_inventory::set_stock(&pool, SKU, 10).await?;
    println!("stock {SKU}: 10");

    let token = args.signing.mint(TENANT, USER, Duration::from_secs(3600))?;
    let bearer = format!("Bearer {token}");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&bearer)?,
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;
    catalogue(&client, &args).await?;
    let ok = checkout(&client, &args, "card", items_body("card", "DE")).await?;
    let declined = checkout(
        &client,
        &args,
        "card_declined",
        items_body("card_declined", "DE"),
    )
    .await?;
    let left = sagaflow_inventory::stock(&pool, SKU)
        .await?
        .unwrap_or_default();
    println!("stock {SKU} after both: {left} (2 sold, 2 reserved then released)");
    if ok != "completed" || declined != "compensated" || left != 8 {
        bail!("unexpected outcome: {ok} / {declined} / stock {left}");
    }
    let cart_id = fill_cart(&client, &args).await?;
    let by_cart = checkout(&client, &args, "cart", cart_body(cart_id)).await?;
    let left = sagaflow_inventory::stock(&pool, SKU)
        .await?
        .unwrap_or_default();
    println!("stock {SKU} after the cart's checkout: {left}");
    if by_cart != "completed" || left != 7 {
        bail!("the cart's checkout ended {by_cart}, stock {left}");
    }
    let generated = generation(&client, &args).await?;
    if generated != "completed" {
        bail!("the cover letter ended {generated}");
    }
    let planned = assistant(&client, &args).await?;
    let left = sagaflow_inventory::stock(&pool, SKU)
        .await?
        .unwrap_or_default();
    println!("stock {SKU} after the assistant's checkout: {left}");
    if planned != "completed" || left != 6 {
        bail!("the assistant's plan ended {planned}, stock {left}");
    }
    println!("demo passed");
    Ok(())
}

const CV: &str = "Ada Lovelace\nada@example.com\n\
Senior software engineer, 2019-2025 at Analytical Engines Ltd.\n\
Built event-driven services in Rust with Kafka and PostgreSQL.\n\
Led a team of five; introduced Docker and Kubernetes deployments.";

const JOB: &str = "Senior Rust Engineer at Acme. We build payment systems with Rust, Kafka and \
PostgreSQL. You will design event-driven services, mentor engineers and own Kubernetes deployments.";

/// A request in words to the assistant (the planner): its plan adds the mug to
/// the cart and checks out, as commands on Kafka; prints the plan's steps and the
/// sagas it started.
async fn assistant(client: &reqwest::Client, args: &Args) -> anyhow::Result<String> {
    let base = args.gateway.trim_end_matches('/');
    let text = format!("Buy 1 of {SKU}");
    let response = client
        .post(format!("{base}/v1/assistant/intents"))
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .json(&json!({ "text": text }))
        .send()
        .await?;
    let status = response.status();
    let plan: Value = response.json().await?;
    if !status.is_success() {
        bail!("the assistant answered {status}: {plan}");
    }
    let id = plan["plan_id"].as_str().context("no plan_id")?.to_owned();
    println!(
        "\nassistant: \"{text}\" -> plan {id} ({})",
        plan["shape"].as_str().unwrap_or("?")
    );
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    loop {
        let view: Value = client
            .get(format!("{base}/v1/assistant/plans/{id}"))
            .send()
            .await?
            .json()
            .await?;
        let status = view["status"].as_str().unwrap_or("running").to_owned();
        if matches!(
            status.as_str(),
            "completed" | "compensated" | "failed" | "compensation_failed" | "rejected"
        ) {
            for step in view["steps"].as_array().into_iter().flatten() {
                println!(
                    "  step {} {}: {}",
                    step["index"],
                    step["name"].as_str().unwrap_or(""),
                    step["status"].as_str().unwrap_or("")
                );
            }
            for saga in view["sagas"].as_array().into_iter().flatten() {
                println!("  started saga {saga}");
            }
            println!("  => {status}");
            return Ok(status);
        }
        if Instant::now() > deadline {
            bail!("plan {id} still {status} after {}s", args.timeout_secs);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A cover letter through the generation saga; prints where to download it.
async fn generation(client: &reqwest::Client, args: &Args) -> anyhow::Result<String> {
    let base = args.gateway.trim_end_matches('/');
    let response = client
        .post(format!("{base}/v1/generations"))
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .json(&json!({"kind": "cover_letter", "cv_text": CV, "job_description": JOB}))
        .send()
        .await?;
    let status = response.status();
    let accepted: Value = response.json().await?;
    if !status.is_success() {
        bail!("gateway answered {status}: {accepted}");
    }
    let id = accepted["generation_id"]
        .as_str()
        .context("no generation_id")?
        .to_owned();
    println!("\ncover letter {id} accepted");
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    loop {
        let view: Value = client
            .get(format!("{base}/v1/generations/{id}"))
            .send()
            .await?
            .json()
            .await?;
        let status = view["status"].as_str().unwrap_or("pending").to_owned();
        if matches!(
            status.as_str(),
            "completed" | "compensated" | "failed" | "compensation_failed"
        ) {
            for step in view["steps"].as_array().into_iter().flatten() {
                if step["kind"] == "step_completed" {
                    println!(
                        "  {:>3} completed {}",
                        step["seq"],
                        step["step"].as_str().unwrap_or("")
                    );
                }
            }
            let document = view["document_id"].as_str().unwrap_or("-");
            println!(
                "  => {status}; download: curl -H \"Authorization: Bearer $(sagaflow token \
                 --tenant {TENANT} --user {USER})\" {base}/v1/documents/{document}/pdf -o letter.pdf"
            );
            return Ok(status);
        }
        if Instant::now() > deadline {
            bail!(
                "generation {id} still {status} after {}s",
                args.timeout_secs
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the catalogue shows [`SKU`] (the catalogue service seeds it at
/// start-up and the gateway's read model follows `catalog.events`); prints it.
async fn catalogue(client: &reqwest::Client, args: &Args) -> anyhow::Result<()> {
    let base = args.gateway.trim_end_matches('/');
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    loop {
        let response = client
            .get(format!("{base}/v1/products/{SKU}"))
            .send()
            .await
            .with_context(|| format!("calling the gateway at {base}"))?;
        let status = response.status();
        if status.is_success() {
            let product: Value = response.json().await?;
            let prices: Vec<String> = product["prices"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "{} {}",
                        p["amount_minor"],
                        p["currency"].as_str().unwrap_or("")
                    )
                })
                .collect();
            println!(
                "catalogue: {SKU} \"{}\" at {} (minor units, before tax)",
                product["name"].as_str().unwrap_or(""),
                prices.join(", ")
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{SKU} is not in the catalogue after {}s (GET /v1/products/{SKU} is {status}); \
                 is the catalogue service running with CATALOG_SEED_DEMO=true?",
                args.timeout_secs
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A checkout of 2 × [`SKU`] named in the body, shipped to `country`; no price.
fn items_body(payment_method: &str, country: &str) -> Value {
    json!({
        "cart_id": Uuid::now_v7(),
        "items": [{"sku": SKU, "quantity": 2}],
        "currency": "EUR",
        "shipping_country": country,
        "payment_method": payment_method,
        "customer_email": "ada@example.com"
    })
}

/// A checkout of the lines of cart `cart_id` (no `items`), shipped to France.
fn cart_body(cart_id: Uuid) -> Value {
    json!({
        "cart_id": cart_id,
        "currency": "EUR",
        "shipping_country": "FR",
        "payment_method": "card",
        "customer_email": "ada@example.com"
    })
}

/// Puts 1 × [`SKU`] in a new cart through the gateway; its id.
async fn fill_cart(client: &reqwest::Client, args: &Args) -> anyhow::Result<Uuid> {
    let base = args.gateway.trim_end_matches('/');
    let cart_id = Uuid::now_v7();
    let response = client
        .put(format!("{base}/v1/carts/{cart_id}/items/{SKU}"))
        .json(&json!({ "quantity": 1 }))
        .send()
        .await?;
    let status = response.status();
    let cart: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("putting {SKU} in cart {cart_id} answered {status}: {cart}");
    }
    println!(
        "
cart {cart_id}: 1 x {SKU}"
    );
    Ok(cart_id)
}

/// Starts the checkout `body` (`label` names it in the output) and follows it to
/// its end; its final status.
async fn checkout(
    client: &reqwest::Client,
    args: &Args,
    label: &str,
    body: Value,
) -> anyhow::Result<String> {
    let base = args.gateway.trim_end_matches('/');
    let response = client
        .post(format!("{base}/v1/checkouts"))
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .with_context(|| format!("calling the gateway at {base}"))?;
    let status = response.status();
    let accepted: Value = response.json().await?;
    if !status.is_success() {
        bail!("gateway answered {status}: {accepted}");
    }
    let id = accepted["checkout_id"]
        .as_str()
        .context("no checkout_id")?
        .to_owned();
    println!("\ncheckout {id} ({label}) accepted");
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    loop {
        let view: Value = client
            .get(format!("{base}/v1/checkouts/{id}"))
            .send()
            .await?
            .json()
            .await?;
        let status = view["status"].as_str().unwrap_or("pending").to_owned();
        if matches!(
            status.as_str(),
            "completed" | "compensated" | "failed" | "compensation_failed"
        ) {
            for step in view["steps"].as_array().into_iter().flatten() {
                println!(
                    "  {:>3} {:<18} {:<18} -> {}",
                    step["seq"],
                    step["kind"].as_str().unwrap_or(""),
                    step["step"].as_str().unwrap_or(""),
                    step["status"].as_str().unwrap_or("")
                );
            }
            println!("  => {status}, order {}", view["order_id"]);
            return Ok(status);
        }
        if Instant::now() > deadline {
            bail!("checkout {id} still {status} after {}s", args.timeout_secs);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
