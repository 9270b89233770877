//! The planner test kit: a planner on a fresh database driven through its router
//! ([`Planner`]), its outbox read back, and the whole checkout platform on a real
//! Kafka-protocol broker ([`Platform`]) for end-to-end plans.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use sagaflow_bus::KafkaConfig;
use sagaflow_events::messages::{ProductChanged, ProductPrice};
use sagaflow_planner::{AppState, Settings};
use sagaflow_test_support::{Broker, TestDb};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use uuid::Uuid;

pub const TENANT: &str = "acme";
pub const USER: &str = "ada";
/// 12.50 EUR.
pub const MUG_PRICE: i64 = 1250;

/// A job description long enough for a generation.
pub const JOB: &str = "Backend engineer at Ferrous Systems. We need Rust, Kafka and \
                       PostgreSQL experience to build event-driven services.";
pub const CV: &str = "Ada Lovelace. Rust engineer since 2019; Kafka and PostgreSQL in production.";

/// The catalogue every test planner learns from `catalog.events`: `MUG` at
/// 12.50, `GOLD` at 1000.00, `SKU-1` at 5.00 (EUR).
pub const PRODUCTS: [(&str, i64); 3] = [("MUG", MUG_PRICE), ("GOLD", 100_000), ("SKU-1", 500)];

/// A planner on its own database, with the catalogue [`PRODUCTS`] fed through
/// its consumer as `ProductChanged` events.
pub struct Planner {
    pub db: TestDb,
    pub state: AppState,
}

/// A product as the catalogue service publishes it.
pub fn product(sku: &str, price: i64, version: i64, active: bool) -> ProductChanged {
    ProductChanged {
        sku: sku.to_owned(),
        name: format!("{sku} (test)"),
        description: String::new(),
        active,
        prices: vec![ProductPrice {
            currency: "EUR".to_owned(),
            amount_minor: price,
        }],
        version,
        at_ms: version,
    }
}

impl Planner {
    pub async fn start(tweak: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        sagaflow_test_support::init_tracing();
        let db = TestDb::create("planner").await?;
        sagaflow_planner::migrate(&db.pool).await?;
        let mut settings = Settings::default();
        tweak(&mut settings);
        let state = sagaflow_planner::prepare(db.pool.clone(), settings).await?;
        let planner = Self { db, state };
        for (sku, price) in PRODUCTS {
            planner.product(&product(sku, price, 1, true)).await?;
        }
        Ok(planner)
    }

    /// Feeds a `ProductChanged` to the planner's consumer.
    pub async fn product(&self, product: &ProductChanged) -> anyhow::Result<()> {
        let message = incoming_as("catalog", None, None, product);
        self.consume(&message).await
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    /// One request through the router as `tenant` / `user`; a `POST
    /// /v1/assistant/intents` gets a fresh `Idempotency-Key`, as a client sends
    /// one per intended submission ([`Planner::call_keyed`] to choose it).
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        who: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let key = (method == "POST" && uri == "/v1/assistant/intents")
            .then(|| Uuid::new_v4().to_string());
        self.call_keyed(method, uri, who, body, key.as_deref())
            .await
    }

    /// [`Planner::call`] with this `Idempotency-Key` (or none).
    pub async fn call_keyed(
        &self,
        method: &str,
        uri: &str,
        who: Option<(&str, &str)>,
        body: Option<Value>,
        key: Option<&str>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-request-id", "req-1")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            );
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some((tenant, user)) = who {
            request = request.header(
                "authorization",
                sagaflow_test_support::service_auth::internal_bearer("planner", tenant, user),
            );
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))?,
            None => request.body(Body::empty())?,
        };
        let response = sagaflow_service_auth::internal::guard(
            sagaflow_planner::router(self.state.clone()),
            sagaflow_test_support::service_auth::internal_verifier("planner"),
        )
        .oneshot(request)
        .await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await?;
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .with_context(|| String::from_utf8_lossy(&bytes).into_owned())?
        };
        Ok((status, json))
    }

    /// `POST /v1/assistant/intents` as acme/ada.
    pub async fn intent(&self, text: &str, dry_run: bool) -> anyhow::Result<(StatusCode, Value)> {
        self.intent_as((TENANT, USER), text, dry_run).await
    }

    pub async fn intent_as(
        &self,
        who: (&str, &str),
        text: &str,
        dry_run: bool,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.call(
            "POST",
            "/v1/assistant/intents",
            Some(who),
            Some(json!({"text": text, "dry_run": dry_run})),
        )
        .await
    }

    /// `GET /v1/assistant/plans/{id}` as acme/ada.
    pub async fn plan(&self, id: &str) -> anyhow::Result<Value> {
        let (status, body) = self
            .call(
                "GET",
                &format!("/v1/assistant/plans/{id}"),
                Some((TENANT, USER)),
                None,
            )
            .await?;
        anyhow::ensure!(status == StatusCode::OK, "GET plan {id}: {status} {body}");
        Ok(body)
    }

    /// Every outbox row, oldest first.
    pub async fn outbox(&self) -> anyhow::Result<Vec<Row>> {
        outbox(self.pool()).await
    }

    /// Outbox rows that are commands or events for other services (not the audit
    /// trail on `planner.events`, nor the plan saga's own progress events).
    pub async fn commands(&self) -> anyhow::Result<Vec<Row>> {
        Ok(self
            .outbox()
            .await?
            .into_iter()
            .filter(|r| r.topic != "planner.events" && r.topic != "orchestrator.events")
            .collect())
    }
}

/// An outbox row with its payload decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub topic: String,
    pub message_type: String,
    pub headers: Value,
    pub payload: Value,
}

impl Row {
    pub fn header(&self, name: &str) -> &str {
        self.headers[name].as_str().unwrap_or_default()
    }
}

pub async fn outbox(pool: &PgPool) -> anyhow::Result<Vec<Row>> {
    let rows: Vec<(String, String, sqlx::types::Json<Value>, Vec<u8>)> = sqlx::query_as(
        "SELECT topic, message_type, headers, payload FROM sagaflow_outbox ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(topic, message_type, headers, payload)| {
            let (_, payload) = sagaflow_events::decode_json(&payload)?;
            Ok(Row {
                topic,
                message_type,
                headers: headers.0,
                payload,
            })
        })
        .collect()
}

/// A payload with every UUID replaced by its role: the same plan made twice
/// compares equal whatever ids it was given.
pub fn normalise(value: &Value) -> Value {
    match value {
        Value::String(s) if Uuid::parse_str(s).is_ok() => json!("<uuid>"),
        Value::String(s) if s.starts_with("plan ") && s.ends_with(" compensating") => {
            json!("plan <uuid> compensating")
        }
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalise(v))).collect())
        }
        other => other.clone(),
    }
}

/// Waits until `check` returns `Some`, for at most `timeout` (the shared helper).
pub use sagaflow_test_support::eventually_some as eventually;

/// Whole-platform tests hold many PostgreSQL connections: one at a time.
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The checkout platform (orchestrator, inventory, pricing, payment, order, cart,
/// notification) and a planner, each on its own database, on a mock Kafka cluster.
pub struct Platform {
    pub broker: Broker,
    pub planner: Planner,
    pub orchestrator: TestDb,
    pub inventory: TestDb,
    pub cart: TestDb,
    pub order: TestDb,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
    _exclusive: tokio::sync::MutexGuard<'static, ()>,
}

impl Platform {
    pub async fn start() -> anyhow::Result<Self> {
        let exclusive = EXCLUSIVE.lock().await;
        let broker = Broker::mock()?;
        let topics = sagaflow_bus::admin::platform_topics();
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        broker.create_topics(&refs, 4).await?;
        let planner = Planner::start(|_| {}).await?;
        let orchestrator = TestDb::create("pl_orchestrator").await?;
        sagaflow_orchestrator::migrate(&orchestrator.pool).await?;
        let inventory = TestDb::create("pl_inventory").await?;
        sagaflow_inventory::migrate(&inventory.pool).await?;
        let pricing = TestDb::create("pl_pricing").await?;
        sagaflow_pricing::migrate(&pricing.pool).await?;
        let payment = TestDb::create("pl_payment").await?;
        sagaflow_payment::migrate(&payment.pool).await?;
        let order = TestDb::create("pl_order").await?;
        sagaflow_order::migrate(&order.pool).await?;
        let cart = TestDb::create("pl_cart").await?;
        sagaflow_cart::migrate(&cart.pool).await?;
        let notification = TestDb::create("pl_notification").await?;
        sagaflow_notification::migrate(&notification.pool).await?;

        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let kafka = || KafkaConfig::new(broker.bootstrap());
        let port = sagaflow_test_support::free_port()?;
        let orchestrator_settings = sagaflow_orchestrator::Settings {
            listen: ([127, 0, 0, 1], port).into(),
            operator_jwt_secret: Some(sagaflow_test_support::service_auth::Secret::new(
                sagaflow_test_support::service_auth::OPERATOR_JWT_SECRET,
            )),
            ..sagaflow_orchestrator::Settings::default()
        };
        macro_rules! spawn {
            ($krate:ident, $pool:expr, $settings:expr) => {{
                let (pool, kafka, settings, shutdown) =
                    ($pool.clone(), kafka(), $settings, shutdown.clone());
                tasks.spawn(async move { $krate::run(pool, kafka, settings, shutdown).await });
            }};
        }
        spawn!(
            sagaflow_orchestrator,
            orchestrator.pool,
            orchestrator_settings
        );
        spawn!(sagaflow_inventory, inventory.pool, Default::default());
        spawn!(sagaflow_pricing, pricing.pool, Default::default());
        spawn!(sagaflow_payment, payment.pool, Default::default());
        spawn!(sagaflow_order, order.pool, Default::default());
        spawn!(sagaflow_cart, cart.pool, Default::default());
        spawn!(sagaflow_notification, notification.pool, Default::default());
        // The catalogue on `catalog.events`, for pricing (and the planner, which
        // already has it): produced by the planner's own relay from its outbox,
        // as the catalogue service's relay would.
        {
            let mut conn = planner.pool().acquire().await?;
            for (sku, price) in PRODUCTS {
                let out = sagaflow_bus::Outgoing::new(
                    "catalog",
                    None,
                    sku.to_owned(),
                    &product(sku, price, 1, true),
                )?;
                sagaflow_bus::outbox::enqueue(&mut conn, &[out]).await?;
            }
        }
        {
            let (state, kafka, shutdown) = (planner.state.clone(), kafka(), shutdown.clone());
            tasks.spawn(
                async move { sagaflow_planner::run_messaging(&state, kafka, shutdown).await },
            );
        }
        // Checkouts are priced from pricing's copy of the catalogue: wait for it.
        let skus: Vec<String> = PRODUCTS.iter().map(|(sku, _)| sku.to_string()).collect();
        sagaflow_test_support::eventually(
            "pricing's catalogue",
            Duration::from_secs(60),
            || async {
                let known: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM catalog_products WHERE sku = ANY($1)")
                        .bind(&skus)
                        .fetch_one(&pricing.pool)
                        .await?;
                Ok(known == skus.len() as i64)
            },
        )
        .await?;
        Ok(Self {
            broker,
            planner,
            orchestrator,
            inventory,
            cart,
            order,
            shutdown,
            tasks,
            _exclusive: exclusive,
        })
    }

    /// Waits for the plan to reach one of `statuses`; returns its view.
    pub async fn wait_plan(&self, id: &str, statuses: &[&str]) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let view = self.planner.plan(id).await?;
            if statuses.contains(&view["status"].as_str().unwrap_or_default()) {
                return Ok(view);
            }
            if Instant::now() > deadline {
                bail!("plan {id} not in {statuses:?} after 90 s: {view:#}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        while let Some(result) = self.tasks.join_next().await {
            result??;
        }
        Ok(())
    }
}

/// A message as the planner's consumer sees it, sent for `tenant`.
pub fn incoming_as<T: sagaflow_events::Contract>(
    tenant: &str,
    saga_id: Option<Uuid>,
    causation: Option<Uuid>,
    body: &T,
) -> sagaflow_bus::Incoming {
    let key = saga_id.map(|s| s.to_string()).unwrap_or_default();
    let mut out = sagaflow_bus::Outgoing::new(tenant, saga_id, key, body).expect("encodes");
    out.envelope.causation_id = causation;
    sagaflow_bus::Incoming {
        envelope: out.envelope,
        topic: out.topic,
        partition: 0,
        offset: 0,
        key: Some(out.key),
        payload: out.payload,
    }
}

/// A `SagaFinished` as the orchestrator publishes it, for a saga of `user`.
pub fn finished(
    saga_id: Uuid,
    definition: &str,
    seq: i64,
    status: sagaflow_events::messages::SagaStatus,
    result: Option<sagaflow_events::messages::SagaResult>,
) -> sagaflow_events::messages::SagaFinished {
    sagaflow_events::messages::SagaFinished {
        saga_id,
        definition: definition.to_owned(),
        definition_version: 1,
        seq,
        status,
        reason: None,
        result,
        user_id: Some(USER.to_owned()),
        started_at_ms: 0,
        finished_at_ms: 0,
    }
}

impl Planner {
    /// Handles one message through the planner's consumer (inbox transaction).
    pub async fn consume(&self, message: &sagaflow_bus::Incoming) -> anyhow::Result<()> {
        let outcome = self.consume_outcome(message).await;
        anyhow::ensure!(outcome == sagaflow_bus::Outcome::Handled, "{outcome:?}");
        Ok(())
    }

    /// What the planner's consumer made of `message`.
    pub async fn consume_outcome(&self, message: &sagaflow_bus::Incoming) -> sagaflow_bus::Outcome {
        let follower = sagaflow_planner::Follower::new(self.state.definitions.clone());
        sagaflow_bus::inbox::process(
            self.pool(),
            &follower,
            sagaflow_planner::NAME,
            message,
            sagaflow_bus::Backoff::default(),
        )
        .await
    }

    /// Tells the planner (as the orchestrator would) that generation `saga_id`
    /// of `user` of `tenant` finished.
    pub async fn generation_finished(
        &self,
        tenant: &str,
        user: &str,
        saga_id: Uuid,
    ) -> anyhow::Result<()> {
        let mut event = finished(
            saga_id,
            sagaflow_saga_generation::steps::NAME,
            12,
            sagaflow_events::messages::SagaStatus::Completed,
            None,
        );
        event.user_id = Some(user.to_owned());
        self.consume(&incoming_as(tenant, Some(saga_id), None, &event))
            .await
    }

    /// Tells the planner (as the applications service would) that `user` of
    /// `tenant` has application `id`.
    pub async fn application_created(
        &self,
        tenant: &str,
        user: &str,
        id: Uuid,
    ) -> anyhow::Result<()> {
        let event = sagaflow_events::messages::ApplicationStatusChanged {
            application_id: id,
            tenant_id: tenant.to_owned(),
            user_id: user.to_owned(),
            from_status: None,
            to_status: "saved".to_owned(),
            company: "Ferrous Systems".to_owned(),
            role: "Rust engineer".to_owned(),
            changed_at_ms: 0,
        };
        self.consume(&incoming_as(tenant, None, None, &event)).await
    }
}
