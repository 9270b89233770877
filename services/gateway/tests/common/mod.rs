//! Shared pieces of the gateway tests: a migrated database, the router, requests
//! and the outbox as the tests see it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sagaflow_bus::{Backoff, Incoming, Outcome, Outgoing, inbox};
use sagaflow_events::messages::{ProductChanged, ProductPrice, SagaProgressed};
use sagaflow_gateway::config::Secret;
use sagaflow_gateway::projection::catalog::{self, CatalogProjection};
use sagaflow_gateway::{AppState, NAME, Projection, Settings, mint_hs256, router};
use sagaflow_test_support::TestDb;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::types::Json;
use tower::ServiceExt;
use uuid::Uuid;

pub const TENANT: &str = "tenant-a";
pub const USER: &str = "user-1";

/// The HS256 secret of the test gateways.
pub const SECRET: &str = "gateway-tests-secret-0123456789abcdef";

/// A valid bearer token for `user` of `tenant`.
pub fn token(tenant: &str, user: &str) -> String {
    mint_hs256(
        SECRET,
        "sagaflow",
        "sagaflow-api",
        tenant,
        user,
        Duration::from_secs(600),
    )
}

/// `Authorization: Bearer ...` for `user` of `tenant`.
pub fn bearer(tenant: &str, user: &str) -> String {
    format!("Bearer {}", token(tenant, user))
}

/// The test settings: the defaults with [`SECRET`] and no rate limits (the rate
/// limit tests turn them on), so that tests may send many requests quickly.
pub fn settings() -> Settings {
    Settings {
        jwt_hs256_secret: Some(Secret::new(SECRET)),
        internal_token_secret: Some(sagaflow_test_support::service_auth::Secret::new(
            sagaflow_test_support::service_auth::INTERNAL_TOKEN_SECRET,
        )),
        ..Settings::default()
    }
    .without_rate_limits()
}

/// A migrated test database and the router on it.
pub struct Gateway {
    pub db: TestDb,
    pub app: Router,
    /// The state the router was built from (its event streams, its settings).
    pub state: AppState,
}

impl Gateway {
    pub async fn start() -> anyhow::Result<Self> {
        Self::with_settings(settings()).await
    }

    pub async fn with_settings(settings: Settings) -> anyhow::Result<Self> {
        sagaflow_test_support::init_tracing();
        let db = TestDb::create("gw").await?;
        sagaflow_gateway::migrate(&db.pool).await?;
        seed_products(&db.pool).await?;
        let state = AppState::new(db.pool.clone(), settings).await?;
        let app = router(state.clone());
        Ok(Self { db, app, state })
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

    /// `GET uri` without a token; asserts a 200 answered as `application/json`
    /// and returns the body (the published documents).
    pub async fn get_public_json(&self, uri: &str) -> anyhow::Result<Value> {
        let response = self
            .app
            .clone()
            .oneshot(Request::builder().uri(uri).body(Body::empty())?)
            .await?;
        assert_eq!(response.status(), StatusCode::OK, "GET {uri}");
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "GET {uri}"
        );
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok(serde_json::from_slice(&bytes)?)
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
    if let (Some(tenant), Some(user)) = (tenant, user) {
        builder = builder.header("Authorization", bearer(tenant, user));
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
        .header("Authorization", bearer(tenant, user))
        .body(Body::empty())
        .expect("request")
}

pub const CART: &str = "0191d2a8-6a4e-7b6b-9a57-3c1d2e3f4a5b";

/// A valid checkout request body: no prices (they come from the catalogue), the
/// SKUs of [`seed_products`].
pub fn checkout_body() -> Value {
    json!({
        "cart_id": CART,
        "items": [
            { "sku": "SKU-RED-M", "quantity": 2 },
            { "sku": "SKU-BLUE-L", "quantity": 1 }
        ],
        "currency": "EUR",
        "shipping_country": "DE",
        "payment_method": "card_visa_4242",
        "customer_email": "ada@example.com",
        "discount_code": "WELCOME10"
    })
}

/// A `ProductChanged` of `sku` at `version`, priced `prices` (currency, minor units).
pub fn product_changed(
    sku: &str,
    name: &str,
    active: bool,
    prices: &[(&str, i64)],
    version: i64,
) -> ProductChanged {
    ProductChanged {
        sku: sku.into(),
        name: name.into(),
        description: format!("{name}, described"),
        active,
        prices: prices
            .iter()
            .map(|(currency, amount_minor)| ProductPrice {
                currency: (*currency).into(),
                amount_minor: *amount_minor,
            })
            .collect(),
        version,
        at_ms: AT_MS + version,
    }
}

/// Feeds `change` to the gateway's catalogue projection as its consumer would
/// (through the inbox); `Ok(false)` when the inbox had seen the message.
pub async fn feed_product(pool: &PgPool, change: &ProductChanged) -> anyhow::Result<bool> {
    let out = Outgoing::new("catalog", None, change.sku.clone(), change)?;
    let message = Incoming {
        envelope: out.envelope,
        topic: out.topic,
        partition: 0,
        offset: 0,
        key: Some(out.key),
        payload: out.payload,
    };
    match inbox::process(
        pool,
        &CatalogProjection,
        catalog::CONSUMER,
        &message,
        Backoff::default(),
    )
    .await
    {
        Outcome::Handled => Ok(true),
        Outcome::Duplicate => Ok(false),
        other => anyhow::bail!("catalogue projection: {other:?}"),
    }
}

/// Puts the products of [`checkout_body`] in the gateway's catalogue read
/// model: `SKU-RED-M` (19.99 EUR, 21.99 USD, 17.99 GBP) and `SKU-BLUE-L`
/// (45.00 EUR, 49.00 USD, no GBP price).
pub async fn seed_products(pool: &PgPool) -> anyhow::Result<()> {
    for change in [
        product_changed(
            "SKU-RED-M",
            "Red shirt M",
            true,
            &[("EUR", 1999), ("USD", 2199), ("GBP", 1799)],
            1,
        ),
        product_changed(
            "SKU-BLUE-L",
            "Blue shirt L",
            true,
            &[("EUR", 4500), ("USD", 4900)],
            1,
        ),
    ] {
        feed_product(pool, &change).await?;
    }
    Ok(())
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

/// 2026-01-01T00:00:00Z.
pub const AT_MS: i64 = 1_767_225_600_000;

/// A v1 `SagaProgressed` (one entry, its detail as JSON) of saga `saga_id` of
/// `definition`; the projection still reads v1.
pub fn progress_of(
    definition: &str,
    saga_id: Uuid,
    seq: i64,
    kind: &str,
    step: Option<&str>,
    status: &str,
    detail: Value,
) -> SagaProgressed {
    SagaProgressed {
        saga_id,
        definition: definition.into(),
        definition_version: 1,
        seq,
        status: status.into(),
        step: step.map(str::to_owned),
        kind: kind.into(),
        detail: detail.to_string(),
        at_ms: AT_MS + seq * 1000,
        entries: Vec::new(),
        result: None,
    }
}

/// Feeds `event` to the gateway's projection as the consumer would.
pub async fn feed_event(gw: &Gateway, tenant: &str, event: &SagaProgressed) -> anyhow::Result<()> {
    let message = incoming(tenant, event.saga_id, event);
    match inbox::process(gw.pool(), &Projection, NAME, &message, Backoff::default()).await {
        Outcome::Handled | Outcome::Duplicate => Ok(()),
        other => anyhow::bail!("projection: {other:?}"),
    }
}

/// Reads server-sent events from a response body.
pub struct SseReader {
    pub body: Body,
    pub buffer: String,
}

impl SseReader {
    pub fn new(body: Body) -> Self {
        Self {
            body,
            buffer: String::new(),
        }
    }

    /// The next `(event name, data)`; `None` when the stream ended.
    pub async fn next(&mut self) -> anyhow::Result<Option<(String, Value)>> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Ok(Some((name, serde_json::from_str(&data)?)));
            }
            let frame = tokio::time::timeout(Duration::from_secs(10), self.body.frame())
                .await
                .map_err(|_| anyhow::anyhow!("no event within 10 s; got {:?}", self.buffer))?;
            match frame {
                None => return Ok(None),
                Some(frame) => {
                    if let Ok(bytes) = frame?.into_data() {
                        self.buffer.push_str(std::str::from_utf8(&bytes)?);
                    }
                }
            }
        }
    }
}

/// The process-wide Prometheus recorder, installed once for the whole test
/// binary (only one global recorder can be installed per process) and shared
/// by every test that reads metrics. Histograms get buckets, not summaries.
/// Other tests of the binary record into it too, so readers look for their
/// own label values or compare counts before and after.
pub fn metrics_recorder() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static RECORDER: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    RECORDER.get_or_init(|| {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&[0.005, 0.05, 0.5, 5.0])
            .expect("non-empty buckets")
            .install_recorder()
            .expect("the only recorder of the integration binary")
    })
}
