//! Shared pieces of the gateway tests: a migrated database, the router, requests
//! and the outbox as the tests see it.
#![allow(dead_code)]

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use sagaflow_bus::{Incoming, Outgoing};
use sagaflow_gateway::{AppState, Settings, router};
use sagaflow_test_support::TestDb;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::types::Json;
use tower::ServiceExt;
use uuid::Uuid;

pub const TENANT: &str = "tenant-a";
pub const USER: &str = "user-1";

/// A migrated test database and the router on it.
pub struct Gateway {
    pub db: TestDb,
    pub app: Router,
}

impl Gateway {
    pub async fn start() -> anyhow::Result<Self> {
        Self::with_settings(Settings::default()).await
    }

    pub async fn with_settings(settings: Settings) -> anyhow::Result<Self> {
        sagaflow_test_support::init_tracing();
        let db = TestDb::create("gw").await?;
        sagaflow_gateway::migrate(&db.pool).await?;
        let app = router(AppState {
            pool: db.pool.clone(),
            settings,
        });
        Ok(Self { db, app })
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    /// Sends `request` and returns the status, the `x-request-id` header and the
    /// body as JSON (`Value::Null` when empty).
    pub async fn send_full(
        &self,
        request: Request<Body>,
    ) -> anyhow::Result<(StatusCode, Option<String>, Value)> {
        let response = self.app.clone().oneshot(request).await?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok((status, request_id, body))
    }

    pub async fn send(&self, request: Request<Body>) -> anyhow::Result<(StatusCode, Value)> {
        let (status, _, body) = self.send_full(request).await?;
        Ok((status, body))
    }

    /// `POST /v1/checkouts` as `tenant`/`user` with `key`.
    pub async fn post(
        &self,
        tenant: &str,
        user: &str,
        key: &str,
        body: &Value,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.send(post_request(
            Some(tenant),
            Some(user),
            Some(key),
            body.to_string(),
        ))
        .await
    }

    pub async fn get(
        &self,
        tenant: &str,
        user: &str,
        uri: &str,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.send(get_request(tenant, user, uri)).await
    }

    /// Starts a checkout and returns its id.
    pub async fn checkout(&self, tenant: &str, user: &str) -> anyhow::Result<Uuid> {
        let (status, body) = self
            .post(tenant, user, &Uuid::new_v4().to_string(), &checkout_body())
            .await?;
        anyhow::ensure!(status == StatusCode::ACCEPTED, "POST gave {status}: {body}");
        checkout_id(&body)
    }
}

/// A valid generation request body.
pub fn generation_body() -> Value {
    json!({
        "kind": "cover_letter",
        "cv_text": "Ada Lovelace\nAnalyst and mathematician.\n\tWrote the first program.",
        "job_description": "We are hiring a senior Rust engineer to build event-driven systems on Kafka.",
        "template": "Dear {{company}},",
        "token_budget": 6000
    })
}

pub fn generation_id(body: &Value) -> anyhow::Result<Uuid> {
    let id = body["generation_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no generation_id in {body}"))?;
    Ok(Uuid::parse_str(id)?)
}

impl Gateway {
    /// `POST /v1/generations` as `tenant`/`user` with `key`.
    pub async fn post_generation(
        &self,
        tenant: &str,
        user: &str,
        key: &str,
        body: &Value,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.send(post_request_to(
            "/v1/generations",
            Some(tenant),
            Some(user),
            Some(key),
            body.to_string(),
        ))
        .await
    }

    /// Starts a generation and returns its id.
    pub async fn generation(&self, tenant: &str, user: &str) -> anyhow::Result<Uuid> {
        let (status, body) = self
            .post_generation(
                tenant,
                user,
                &Uuid::new_v4().to_string(),
                &generation_body(),
            )
            .await?;
        anyhow::ensure!(status == StatusCode::ACCEPTED, "POST gave {status}: {body}");
        generation_id(&body)
    }

    pub async fn delete(
        &self,
        tenant: &str,
        user: &str,
        uri: &str,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.send(request("DELETE", tenant, user, uri)).await
    }
}

pub fn post_request(
    tenant: Option<&str>,
    user: Option<&str>,
    key: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    post_request_to("/v1/checkouts", tenant, user, key, body)
}

pub fn post_request_to(
    uri: &str,
    tenant: Option<&str>,
    user: Option<&str>,
    key: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(tenant) = tenant {
        builder = builder.header("X-Tenant-Id", tenant);
    }
    if let Some(user) = user {
        builder = builder.header("X-User-Id", user);
    }
    if let Some(key) = key {
        builder = builder.header("Idempotency-Key", key);
    }
    builder.body(body.into()).expect("request")
}

pub fn get_request(tenant: &str, user: &str, uri: &str) -> Request<Body> {
    request("GET", tenant, user, uri)
}

pub fn request(method: &str, tenant: &str, user: &str, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("X-Tenant-Id", tenant)
        .header("X-User-Id", user)
        .body(Body::empty())
        .expect("request")
}

pub const CART: &str = "0191d2a8-6a4e-7b6b-9a57-3c1d2e3f4a5b";

/// A valid checkout request body.
pub fn checkout_body() -> Value {
    json!({
        "cart_id": CART,
        "items": [
            { "sku": "SKU-RED-M", "quantity": 2, "unit_price_minor": 1999 },
            { "sku": "SKU-BLUE-L", "quantity": 1, "unit_price_minor": 4500 }
        ],
        "currency": "EUR",
        "payment_method": "card_visa_4242",
        "customer_email": "ada@example.com",
        "discount_code": "WELCOME10"
    })
}

pub fn checkout_id(body: &Value) -> anyhow::Result<Uuid> {
    let id = body["checkout_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no checkout_id in {body}"))?;
    Ok(Uuid::parse_str(id)?)
}

/// One outbox row.
#[derive(Debug)]
pub struct OutboxRow {
    pub topic: String,
    pub key: String,
    pub message_type: String,
    pub headers: BTreeMap<String, String>,
    pub payload: Vec<u8>,
}

type RawOutboxRow = (
    String,
    String,
    String,
    Json<BTreeMap<String, String>>,
    Vec<u8>,
);

pub async fn outbox(pool: &PgPool) -> anyhow::Result<Vec<OutboxRow>> {
    let rows: Vec<RawOutboxRow> = sqlx::query_as(
        "SELECT topic, partition_key, message_type, headers, payload FROM sagaflow_outbox ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(topic, key, message_type, Json(headers), payload)| OutboxRow {
                topic,
                key,
                message_type,
                headers,
                payload,
            },
        )
        .collect())
}

pub async fn count(pool: &PgPool, table: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await?)
}

/// An `Incoming` as the consumer would build it from a record carrying `body`.
pub fn incoming<T: sagaflow_events::Contract>(tenant: &str, saga_id: Uuid, body: &T) -> Incoming {
    let out = Outgoing::new(tenant, Some(saga_id), saga_id.to_string(), body).expect("encodes");
    Incoming {
        envelope: out.envelope,
        topic: out.topic,
        partition: 0,
        offset: 0,
        key: Some(out.key),
        payload: out.payload,
    }
}
