//! The load: checkouts as a client makes them, through the gateway only. Each one
//! puts 1–2 demo SKUs in a new cart (`PUT /v1/carts/{id}/items/{sku}`), then
//! `POST /v1/checkouts` with the `cart_id`, a shipping country and an
//! `Idempotency-Key`. Starts are open loop at `--rate`. A request that meets a
//! dead process (connection refused, 5xx, 409 "still running", 429) is retried
//! with the same key on the next gateway replica, as a well-behaved client does,
//! until its own deadline; the gateway's idempotency keeps that from starting two
//! sagas.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use uuid::Uuid;

use crate::platform::SKUS;

/// How long one request keeps being retried.
const REQUEST_DEADLINE: Duration = Duration::from_secs(90);

/// A checkout the gateway accepted (202).
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub checkout_id: Uuid,
    pub user: usize,
    pub cart_id: Uuid,
    pub lines: Vec<(String, i32)>,
    pub payment_method: String,
}

/// What the load did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Outcome {
    pub accepted: Vec<Accepted>,
    /// Checkouts the gateway refused for good (a 4xx other than 409/429), with why.
    pub refused: Vec<String>,
    /// Checkouts given up after `REQUEST_DEADLINE` of retries.
    pub gave_up: Vec<String>,
    /// Requests sent again (same key) after a transport error or a retryable status.
    pub retries: u64,
}

/// The gateway client: replicas, one token per simulated user.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub gateways: Arc<Vec<String>>,
    pub tokens: Arc<Vec<String>>,
}

/// One request: its first try goes to gateway replica `user % replicas`.
pub struct Call<'a> {
    pub method: reqwest::Method,
    pub path: &'a str,
    pub user: usize,
    pub key: Option<&'a str>,
    pub body: Option<&'a Value>,
}

enum Try {
    Done(StatusCode, Value),
    Retry(String),
}

impl Client {
    pub fn new(gateways: Vec<String>, tokens: Vec<String>) -> crate::error::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_max_idle_per_host(64)
                .build()?,
            gateways: Arc::new(gateways),
            tokens: Arc::new(tokens),
        })
    }

    async fn once(&self, call: &Call<'_>, gateway: usize) -> Try {
        let base = &self.gateways[gateway % self.gateways.len()];
        let mut request = self
            .http
            .request(call.method.clone(), format!("{base}{}", call.path))
            .bearer_auth(&self.tokens[call.user % self.tokens.len()]);
        if let Some(key) = call.key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = call.body {
            request = request.json(body);
        }
        match request.send().await {
            Err(err) => Try::Retry(format!("{base}: {err}")),
            Ok(response) => {
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if status.is_server_error()
                    || status == StatusCode::CONFLICT
                    || status == StatusCode::TOO_MANY_REQUESTS
                {
                    Try::Retry(format!("{base}: {status} {body}"))
                } else {
                    Try::Done(status, body)
                }
            }
        }
    }

    /// Sends until a final answer or the deadline; (status, body) or the last error.
    /// Retries go to the next gateway replica.
    pub async fn send(
        &self,
        call: &Call<'_>,
        retries: &mut u64,
    ) -> Result<(StatusCode, Value), String> {
        let deadline = Instant::now() + REQUEST_DEADLINE;
        let mut gateway = call.user;
        let mut delay = Duration::from_millis(100);
        loop {
            match self.once(call, gateway).await {
                Try::Done(status, body) => return Ok((status, body)),
                Try::Retry(why) => {
                    if Instant::now() + delay > deadline {
                        return Err(why);
                    }
                    *retries += 1;
                    gateway += 1;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// The gateway's status of a checkout (`GET /v1/checkouts/{id}`).
    pub async fn checkout_status(&self, accepted: &Accepted) -> Result<String, String> {
        let mut retries = 0;
        let path = format!("/v1/checkouts/{}", accepted.checkout_id);
        let call = Call {
            method: reqwest::Method::GET,
            path: &path,
            user: accepted.user,
            key: None,
            body: None,
        };
        let (status, body) = self.send(&call, &mut retries).await?;
        if !status.is_success() {
            return Err(format!("{status} {body}"));
        }
        Ok(body["status"].as_str().unwrap_or("?").to_owned())
    }
}

/// One checkout's plan, drawn from the run's seed.
struct Plan {
    user: usize,
    cart_id: Uuid,
    lines: Vec<(String, i32)>,
    country: &'static str,
    payment_method: String,
}

fn plan(rng: &mut StdRng, index: usize, users: usize, decline_percent: u32) -> Plan {
    let first = rng.random_range(0..SKUS.len());
    let mut lines = vec![(SKUS[first].to_owned(), rng.random_range(1..=2))];
    if rng.random_bool(0.5) {
        let second = (first + rng.random_range(1..SKUS.len())) % SKUS.len();
        lines.push((SKUS[second].to_owned(), rng.random_range(1..=2)));
    }
    let declined = rng.random_range(0..100) < decline_percent;
    Plan {
        user: index % users.max(1),
        cart_id: Uuid::from_u128(rng.random()),
        lines,
        country: if rng.random_bool(0.5) { "DE" } else { "FR" },
        payment_method: if declined { "card_declined" } else { "card" }.to_owned(),
    }
}

/// Runs `count` checkouts at `rate` per second; returns when every one was
/// accepted, refused or given up.
pub async fn run(
    client: &Client,
    count: usize,
    rate: f64,
    seed: u64,
    decline_percent: u32,
) -> Outcome {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x10ad);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..count {
        let plan = plan(&mut rng, index, client.tokens.len(), decline_percent);
        let at = started + Duration::from_secs_f64(index as f64 / rate.max(0.01));
        tokio::time::sleep_until(at).await;
        let client = client.clone();
        tasks.spawn(async move { one(&client, plan).await });
    }
    let mut outcome = Outcome::default();
    while let Some(done) = tasks.join_next().await {
        let Ok((result, retries)) = done else {
            outcome.gave_up.push("a checkout task panicked".into());
            continue;
        };
        outcome.retries += retries;
        match result {
            Ok(accepted) => outcome.accepted.push(accepted),
            Err(Failure::Refused(why)) => outcome.refused.push(why),
            Err(Failure::GaveUp(why)) => outcome.gave_up.push(why),
        }
    }
    outcome.accepted.sort_by_key(|a| a.checkout_id);
    outcome
}

enum Failure {
    Refused(String),
    GaveUp(String),
}

async fn one(client: &Client, plan: Plan) -> (Result<Accepted, Failure>, u64) {
    let mut retries = 0;
    let result = async {
        for (sku, quantity) in &plan.lines {
            let path = format!("/v1/carts/{}/items/{sku}", plan.cart_id);
            let body = json!({ "quantity": quantity });
            let call = Call {
                method: reqwest::Method::PUT,
                path: &path,
                user: plan.user,
                key: None,
                body: Some(&body),
            };
            match client.send(&call, &mut retries).await {
                Ok((status, _)) if status.is_success() => {}
                Ok((status, body)) => {
                    return Err(Failure::Refused(format!("PUT {path}: {status} {body}")));
                }
                Err(why) => return Err(Failure::GaveUp(format!("PUT {path}: {why}"))),
            }
        }
        let key = Uuid::new_v4().to_string();
        let body = json!({
            "cart_id": plan.cart_id,
            "currency": "EUR",
            "shipping_country": plan.country,
            "payment_method": plan.payment_method,
            "customer_email": format!("chaos-{}@example.com", plan.user),
        });
        let call = Call {
            method: reqwest::Method::POST,
            path: "/v1/checkouts",
            user: plan.user,
            key: Some(&key),
            body: Some(&body),
        };
        match client.send(&call, &mut retries).await {
            Ok((status, body)) if status.is_success() => {
                let id = body["checkout_id"]
                    .as_str()
                    .and_then(|id| id.parse::<Uuid>().ok())
                    .ok_or_else(|| {
                        Failure::Refused(format!("202 without a checkout_id: {body}"))
                    })?;
                Ok(Accepted {
                    checkout_id: id,
                    user: plan.user,
                    cart_id: plan.cart_id,
                    lines: plan.lines.clone(),
                    payment_method: plan.payment_method.clone(),
                })
            }
            Ok((status, body)) => Err(Failure::Refused(format!(
                "POST /v1/checkouts (cart {}): {status} {body}",
                plan.cart_id
            ))),
            Err(why) => Err(Failure::GaveUp(format!(
                "POST /v1/checkouts (cart {}): {why}",
                plan.cart_id
            ))),
        }
    }
    .await;
    (result, retries)
}
