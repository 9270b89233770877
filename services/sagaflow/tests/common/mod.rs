//! The whole platform for end-to-end tests: every service with its own fresh
//! database, on a real broker, either as tasks in this process ([`Platform`]) or
//! as `sagaflow serve` child processes that can be killed ([`Processes`]).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sagaflow::platform::{self, Service, Settings};
use sagaflow_bus::KafkaConfig;
use sagaflow_test_support::free_port;
use sagaflow_test_support::{Broker, TestDb};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const TENANT: &str = "acme";
pub const USER: &str = "ada";

/// The HS256 secret the tests' gateways accept (`GATEWAY_JWT_HS256_SECRET`).
pub const JWT_SECRET: &str = "sagaflow-platform-tests-secret-0123456789";

/// `Authorization` for `user` of [`TENANT`].
pub fn bearer_for(user: &str) -> String {
    let token = sagaflow_gateway::mint_hs256(
        JWT_SECRET,
        sagaflow_gateway::config::DEFAULT_JWT_ISSUER,
        sagaflow_gateway::config::DEFAULT_JWT_AUDIENCE,
        TENANT,
        user,
        Duration::from_secs(3600),
    );
    format!("Bearer {token}")
}

/// `Authorization` for `user` of `tenant`.
pub fn bearer_in(tenant: &str, user: &str) -> String {
    let token = sagaflow_gateway::mint_hs256(
        JWT_SECRET,
        sagaflow_gateway::config::DEFAULT_JWT_ISSUER,
        sagaflow_gateway::config::DEFAULT_JWT_AUDIENCE,
        tenant,
        user,
        Duration::from_secs(3600),
    );
    format!("Bearer {token}")
}

/// `Authorization` for [`USER`] of [`TENANT`].
pub fn bearer() -> String {
    bearer_for(USER)
}

/// The gateway settings of every platform test: the test secret, and no rate
/// limits (the tests send hundreds of checkouts as one user; the limits have
/// their own tests in the gateway crate).
pub fn test_gateway(settings: &mut Settings) {
    settings.gateway.jwt_hs256_secret = Some(sagaflow_gateway::config::Secret::new(JWT_SECRET));
    settings.gateway.rate_limit_ip_per_sec = 0;
    settings.gateway.rate_limit_user_per_sec = 0;
    settings.gateway.rate_limit_generations_per_hour = 0;
    settings.auth = sagaflow_test_support::service_auth::auth_settings();
}

/// The same for `sagaflow serve` processes, as environment variables.
pub const GATEWAY_ENV: [(&str, &str); 6] = [
    ("GATEWAY_JWT_HS256_SECRET", JWT_SECRET),
    (
        "SAGAFLOW_INTERNAL_TOKEN_SECRET",
        sagaflow_test_support::service_auth::INTERNAL_TOKEN_SECRET,
    ),
    (
        "SAGAFLOW_OPERATOR_JWT_SECRET",
        sagaflow_test_support::service_auth::OPERATOR_JWT_SECRET,
    ),
    ("GATEWAY_RATE_LIMIT_IP_PER_SEC", "0"),
    ("GATEWAY_RATE_LIMIT_USER_PER_SEC", "0"),
    ("GATEWAY_RATE_LIMIT_GENERATIONS_PER_HOUR", "0"),
];
pub const TERMINAL: [&str; 4] = ["completed", "compensated", "failed", "compensation_failed"];

/// Whole-platform tests take PostgreSQL connections for nine services each; run
/// them one at a time so two never exhaust the server's `max_connections`.
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Held for the duration of a whole-platform test.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    EXCLUSIVE.lock().await
}

/// Fresh databases for every service, migrated.
pub struct Databases(pub BTreeMap<&'static str, TestDb>);

impl Databases {
    pub async fn create() -> anyhow::Result<Self> {
        let mut dbs = BTreeMap::new();
        for service in Service::ALL {
            let db = TestDb::create(service.name()).await?;
            platform::migrate(service, &db.pool).await?;
            if service == Service::Catalog {
                catalogue_test_skus(&db.pool).await?;
            }
            dbs.insert(service.name(), db);
        }
        Ok(Self(dbs))
    }

    pub fn pool(&self, service: Service) -> &PgPool {
        &self.0[service.name()].pool
    }

    pub fn url(&self, service: Service) -> &str {
        &self.0[service.name()].url
    }
}

/// The SKUs these tests buy, at 12.50 EUR each in the catalogue.
pub const TEST_SKUS: [&str; 2] = ["MUG", "LIMITED"];

/// Puts [`TEST_SKUS`] into the catalogue through its own store, so each is
/// published as `ProductChanged` by the catalogue's relay once it runs, and
/// pricing, the gateway and the planner learn them the way they do in production.
pub async fn catalogue_test_skus(pool: &PgPool) -> anyhow::Result<()> {
    use sagaflow_catalog::product::{Price, ProductSpec};
    for sku in TEST_SKUS {
        let spec = ProductSpec {
            name: format!("Test product {sku}"),
            description: String::new(),
            active: true,
            prices: vec![Price {
                currency: "EUR".into(),
                amount_minor: 1250,
            }],
        };
        sagaflow_catalog::store::put(pool, sku, &spec, "tests").await?;
    }
    Ok(())
}

/// Waits until pricing's price table and the gateway's product read model hold
/// every test SKU (they follow `catalog.events`).
pub async fn catalogue_ready(dbs: &Databases) -> anyhow::Result<()> {
    let skus: Vec<String> = TEST_SKUS.iter().map(|s| s.to_string()).collect();
    sagaflow_test_support::eventually("the catalogue", Duration::from_secs(60), || async {
        let priced: i64 =
            sqlx::query_scalar("SELECT count(*) FROM catalog_products WHERE sku = ANY($1)")
                .bind(&skus)
                .fetch_one(dbs.pool(Service::Pricing))
                .await?;
        let shown: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE sku = ANY($1)")
            .bind(&skus)
            .fetch_one(dbs.pool(Service::Gateway))
            .await?;
        Ok(priced == skus.len() as i64 && shown == skus.len() as i64)
    })
    .await
}

pub fn local_addr() -> anyhow::Result<SocketAddr> {
    Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
}

pub async fn create_platform_topics(broker: &Broker) -> anyhow::Result<()> {
    let topics = sagaflow_bus::admin::platform_topics();
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    broker.create_topics(&refs, 4).await
}

/// Every service as a task of this process.
pub struct Platform {
    pub broker: Broker,
    pub dbs: Databases,
    pub settings: Settings,
    pub gateway: String,
    pub orchestrator: String,
    pub http: reqwest::Client,
    kafka: KafkaConfig,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
    _exclusive: tokio::sync::MutexGuard<'static, ()>,
}

impl Platform {
    pub async fn start(broker: Broker, tweak: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        Self::start_tuned(broker, tweak, |_| {}).await
    }

    /// [`Platform::start`] without the services in `except` (a test runs them as
    /// processes it can kill, see [`Processes`], on the same databases).
    pub async fn start_except(broker: Broker, except: &[Service]) -> anyhow::Result<Self> {
        Self::start_with(broker, |_| {}, |_| {}, except).await
    }

    /// [`Platform::start`] with the Kafka settings (relay, consumers) tweaked too.
    pub async fn start_tuned(
        broker: Broker,
        tweak: impl FnOnce(&mut Settings),
        tune: impl FnOnce(&mut KafkaConfig),
    ) -> anyhow::Result<Self> {
        Self::start_with(broker, tweak, tune, &[]).await
    }

    async fn start_with(
        broker: Broker,
        tweak: impl FnOnce(&mut Settings),
        tune: impl FnOnce(&mut KafkaConfig),
        except: &[Service],
    ) -> anyhow::Result<Self> {
        let exclusive = exclusive().await;
        sagaflow_test_support::init_tracing();
        create_platform_topics(&broker).await?;
        let dbs = Databases::create().await?;
        let mut settings = Settings::default();
        settings.gateway.listen = local_addr()?;
        settings.orchestrator.listen = local_addr()?;
        // Every HTTP API on a free port: tests (and a running platform) side by side.
        settings.planner.listen = local_addr()?;
        settings.applications.listen = local_addr()?;
        settings.pricing.listen = local_addr()?;
        settings.catalog.listen = local_addr()?;
        let cart = local_addr()?;
        settings.cart.listen = Some(cart);
        settings.gateway.cart_url = format!("http://{cart}");
        let order = local_addr()?;
        settings.order.listen = Some(order);
        settings.gateway.order_url = format!("http://{order}");
        let notification = local_addr()?;
        settings.notification.listen = Some(notification);
        settings.gateway.notification_url = format!("http://{notification}");
        settings.gateway.planner_url = format!("http://{}", settings.planner.listen);
        settings.gateway.applications_url = format!("http://{}", settings.applications.listen);
        test_gateway(&mut settings);
        tweak(&mut settings);
        let mut kafka = KafkaConfig::new(broker.bootstrap());
        tune(&mut kafka);
        let mut platform = Self {
            kafka,
            gateway: format!("http://{}", settings.gateway.listen),
            orchestrator: format!("http://{}", settings.orchestrator.listen),
            broker,
            dbs,
            settings,
            http: reqwest::Client::new(),
            shutdown: CancellationToken::new(),
            tasks: JoinSet::new(),
            _exclusive: exclusive,
        };
        for service in Service::ALL {
            if !except.contains(&service) {
                platform.spawn(service);
            }
        }
        platform.wait_http(&platform.gateway.clone()).await?;
        platform.wait_http(&platform.orchestrator.clone()).await?;
        catalogue_ready(&platform.dbs).await?;
        Ok(platform)
    }

    fn spawn(&mut self, service: Service) {
        let pool = self.dbs.pool(service).clone();
        let kafka = self.kafka.clone();
        let settings = self.settings.clone();
        let shutdown = self.shutdown.clone();
        self.tasks
            .spawn(async move { platform::run(service, pool, kafka, settings, shutdown).await });
    }

    async fn wait_http(&self, base: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self
                .http
                .get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("{base} did not come up")
    }

    pub fn pool(&self, service: Service) -> &PgPool {
        self.dbs.pool(service)
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        while let Some(result) = self.tasks.join_next().await {
            result??;
        }
        Ok(())
    }
}

/// A checkout request body for `quantity` of `sku`, shipped to Germany (19 % tax);
/// the price is the catalogue's (12.50 EUR for the test SKUs).
pub fn checkout_body(sku: &str, quantity: i32, payment_method: &str, cart_id: Uuid) -> Value {
    json!({
        "cart_id": cart_id,
        "items": [{"sku": sku, "quantity": quantity}],
        "currency": "EUR",
        "shipping_country": "DE",
        "payment_method": payment_method,
        "customer_email": "ada@example.com"
    })
}

/// POSTs a checkout; returns its id.
pub async fn start_checkout(
    http: &reqwest::Client,
    gateway: &str,
    body: &Value,
) -> anyhow::Result<Uuid> {
    let response = http
        .post(format!("{gateway}/v1/checkouts"))
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .header("Authorization", bearer())
        .json(body)
        .send()
        .await?;
    let status = response.status();
    let accepted: Value = response.json().await?;
    anyhow::ensure!(
        status.as_u16() == 202,
        "gateway answered {status}: {accepted}"
    );
    let id = accepted["checkout_id"].as_str().context("checkout_id")?;
    Ok(id.parse()?)
}

/// GET /v1/checkouts/{id}.
pub async fn checkout_view(
    http: &reqwest::Client,
    gateway: &str,
    id: Uuid,
) -> anyhow::Result<Value> {
    Ok(http
        .get(format!("{gateway}/v1/checkouts/{id}"))
        .header("Authorization", bearer())
        .send()
        .await?
        .json()
        .await?)
}

/// Polls the gateway until the checkout is terminal.
pub async fn wait_terminal(
    http: &reqwest::Client,
    gateway: &str,
    id: Uuid,
    timeout: Duration,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let view = checkout_view(http, gateway, id).await?;
        if TERMINAL.contains(&view["status"].as_str().unwrap_or("")) {
            return Ok(view);
        }
        if Instant::now() > deadline {
            bail!("checkout {id} not terminal after {timeout:?}: {view}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sagas per status in the orchestrator's store.
pub async fn saga_statuses(orchestrator: &PgPool) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM sagas GROUP BY status")
            .fetch_all(orchestrator)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Waits until `expected` sagas exist and all are terminal.
pub async fn wait_all_terminal(
    orchestrator: &PgPool,
    expected: i64,
    timeout: Duration,
) -> anyhow::Result<BTreeMap<String, i64>> {
    let deadline = Instant::now() + timeout;
    loop {
        let statuses = saga_statuses(orchestrator).await?;
        let total: i64 = statuses.values().sum();
        let terminal: i64 = statuses
            .iter()
            .filter(|(s, _)| TERMINAL.contains(&s.as_str()))
            .map(|(_, n)| n)
            .sum();
        if total == expected && terminal == expected {
            return Ok(statuses);
        }
        if Instant::now() > deadline {
            bail!("not all terminal after {timeout:?}: {statuses:?} of {expected}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The saga's log kinds and steps in order, from the orchestrator's store.
pub async fn saga_log(
    orchestrator: &PgPool,
    saga: Uuid,
) -> anyhow::Result<Vec<(String, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT kind, event->>'step_name' FROM saga_events WHERE saga_id = $1 ORDER BY seq",
    )
    .bind(saga)
    .fetch_all(orchestrator)
    .await?)
}

/// Services as `sagaflow serve <service>` child processes, killable with SIGKILL.
pub struct Processes {
    pub bootstrap: String,
    pub children: BTreeMap<&'static str, Child>,
    pub gateway: SocketAddr,
    pub orchestrator: SocketAddr,
    /// The applications API: fixed, so an in-process gateway can be pointed at it.
    pub applications: SocketAddr,
    pub extra: Vec<(String, String)>,
    pub log_dir: std::path::PathBuf,
}

impl Processes {
    pub fn new(bootstrap: String, extra: Vec<(String, String)>) -> anyhow::Result<Self> {
        let log_dir = sagaflow_test_support::workspace_root()
            .join(".data/test-logs")
            .join(Uuid::new_v4().simple().to_string());
        std::fs::create_dir_all(&log_dir)?;
        Ok(Self {
            bootstrap,
            children: BTreeMap::new(),
            gateway: local_addr()?,
            orchestrator: local_addr()?,
            applications: local_addr()?,
            extra,
            log_dir,
        })
    }

    pub fn start(&mut self, service: Service, dbs: &Databases) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_dir.join(format!("{}.log", service.name())))?;
        if service == Service::Orchestrator {
            // A fresh port per start: after a kill, the old one may already be some
            // other process's ephemeral port (its outgoing connections), and no
            // test calls the operator API of a restarted orchestrator.
            self.orchestrator = local_addr()?;
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_sagaflow"));
        command
            .args(["serve", service.name(), "--no-setup"])
            .args(["--database-url", dbs.url(service)])
            .args(["--kafka-bootstrap-servers", &self.bootstrap])
            .args(["--gateway-listen", &self.gateway.to_string()])
            .args(["--orchestrator-listen", &self.orchestrator.to_string()])
            // Services' own HTTP APIs on free ports: tests run side by side.
            .args(["--cart-listen", &local_addr()?.to_string()])
            .args(["--order-listen", &local_addr()?.to_string()])
            .args(["--notification-listen", &local_addr()?.to_string()])
            .args(["--generation-listen", &local_addr()?.to_string()])
            .args(["--planner-listen", &local_addr()?.to_string()])
            .args(["--applications-listen", &self.applications.to_string()])
            .args(["--pricing-listen", &local_addr()?.to_string()])
            .args(["--catalog-listen", &local_addr()?.to_string()])
            .args(["--db-pool-size", "4"])
            .env("RUST_LOG", "warn")
            .envs(GATEWAY_ENV)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (key, value) in &self.extra {
            command.env(key, value);
        }
        let child = command.spawn().context("spawning sagaflow")?;
        self.children.insert(service.name(), child);
        Ok(())
    }

    /// SIGTERM, then waits up to `patience` for the process to exit; returns how
    /// long it took and its exit status (`None`: still running, then killed).
    pub fn terminate(
        &mut self,
        service: Service,
        patience: Duration,
    ) -> anyhow::Result<(Duration, Option<std::process::ExitStatus>)> {
        let mut child = self
            .children
            .remove(service.name())
            .context("not running")?;
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        anyhow::ensure!(sent.success(), "kill -TERM failed");
        while started.elapsed() < patience {
            if let Some(status) = child.try_wait()? {
                return Ok((started.elapsed(), Some(status)));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        Ok((started.elapsed(), None))
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self, service: Service) {
        if let Some(mut child) = self.children.remove(service.name()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, mut child) in std::mem::take(&mut self.children) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
