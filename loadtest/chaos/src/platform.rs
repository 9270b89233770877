//! Bringing a whole platform up locally, every service as its own process: the
//! local Nisshi broker (a process the run can SIGKILL and restart; or `--kafka-bootstrap`),
//! fresh databases with their migrations, the topics, then `sagaflow serve
//! <service> --no-setup` per replica, each on its own free ports, with fresh
//! development secrets. Gateway replica *i* forwards cart calls to cart replica *i*.
//! It is ready when every gateway answers `/readyz`, shows the demo products the
//! catalogue seeds (`CATALOG_SEED_DEMO=true`), and pricing knows their prices;
//! then stock is set with `sagaflow stock set`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::RunArgs;
use crate::databases::{Databases, SERVICES};
use crate::error::{Error, Result};
use crate::fleet::Fleet;
use crate::process::{Spec, Supervised};
use crate::sagaflow_cli::{Sagaflow, find_upwards};

/// The demo products the load buys (seeded by the catalogue service).
pub const SKUS: [&str; 5] = [
    "MUG-BLUE",
    "MUG-RED",
    "TEA-SENCHA",
    "COFFEE-BEANS",
    "TOTE-BAG",
];

/// Services run with `--replicas` processes; the others run once.
pub const REPLICATED: [&str; 8] = [
    "gateway",
    "orchestrator",
    "inventory",
    "pricing",
    "payment",
    "order",
    "cart",
    "notification",
];

/// Every `*_LISTEN` key a `sagaflow serve` process may bind; each process gets
/// its own free port for every one, so replicas never collide with each other or
/// with a platform already running on the default ports.
const LISTEN_KEYS: [&str; 11] = [
    "GATEWAY_LISTEN",
    "ORCHESTRATOR_LISTEN",
    "CART_LISTEN",
    "ORDER_LISTEN",
    "NOTIFICATION_LISTEN",
    "GENERATION_LISTEN",
    "PLANNER_LISTEN",
    "APPLICATIONS_LISTEN",
    "CATALOG_LISTEN",
    "PRICING_LISTEN",
    "METRICS_LISTEN",
];

/// What a locally spawned platform offers the run.
pub struct Local {
    pub gateways: Vec<String>,
    pub bootstrap: String,
    pub broker_managed: bool,
    /// The gateway's JWT secret (fresh for the run).
    pub jwt_secret: String,
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn secret() -> String {
    format!(
        "chaos-{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Starts the broker (unless `--kafka-bootstrap`), migrates `dbs`, creates the
/// topics and starts every service into `fleet`.
pub async fn start(
    args: &RunArgs,
    run_dir: &Path,
    sagaflow: &Sagaflow,
    dbs: &Databases,
    fleet: &Fleet,
) -> Result<Local> {
    let (bootstrap, broker_managed) = match &args.kafka_bootstrap {
        Some(bootstrap) => (bootstrap.clone(), false),
        None => (start_broker(args, run_dir, fleet).await?, true),
    };
    for service in SERVICES {
        sagaflow.migrate(service, &dbs.urls[service]).await?;
    }
    if !args.no_topic_creation {
        sagaflow.create_topics(&bootstrap, args.partitions).await?;
    }

    let jwt_secret = secret();
    let common: Vec<(String, String)> = vec![
        ("KAFKA_BOOTSTRAP_SERVERS".into(), bootstrap.clone()),
        ("KAFKA_PARTITIONS".into(), args.partitions.to_string()),
        ("SAGAFLOW_NO_SETUP".into(), "true".into()),
        ("DB_POOL_SIZE".into(), args.db_pool_size.to_string()),
        ("GATEWAY_JWT_HS256_SECRET".into(), jwt_secret.clone()),
        ("SAGAFLOW_INTERNAL_TOKEN_SECRET".into(), secret()),
        ("SAGAFLOW_OPERATOR_JWT_SECRET".into(), secret()),
        ("CATALOG_SEED_DEMO".into(), "true".into()),
        ("PAYMENT_DECLINE_RATE".into(), "0".into()),
        // Every simulated user sends from this one address.
        ("GATEWAY_RATE_LIMIT_IP_PER_SEC".into(), "0".into()),
    ];
    let mut common = common;
    if broker_managed {
        // As up.sh sets for the local broker (README, "The local broker").
        common.push(("KAFKA_FETCH_WAIT_MAX_MS".into(), "50".into()));
    }
    // `--service-env` last: it overrides the run's own settings.
    common.extend(args.service_env.iter().cloned());

    // Ports first: gateways need the cart replicas' addresses.
    let mut plan: Vec<(String, &str, usize, BTreeMap<&str, u16>)> = Vec::new();
    for service in SERVICES {
        let replicas = if REPLICATED.contains(&service) {
            args.replicas.max(1)
        } else {
            1
        };
        for replica in 1..=replicas {
            let mut ports = BTreeMap::new();
            for key in LISTEN_KEYS {
                ports.insert(key, free_port()?);
            }
            plan.push((format!("{service}-{replica}"), service, replica, ports));
        }
    }
    let port_of = |service: &str, replica: usize, key: &str| -> Option<u16> {
        plan.iter()
            .filter(|(_, s, _, _)| *s == service)
            .find(|(_, _, r, _)| *r == replica)
            .or_else(|| plan.iter().find(|(_, s, _, _)| *s == service))
            .map(|(_, _, _, ports)| ports[key])
    };
    let mut gateways = Vec::new();
    let mut specs = Vec::new();
    for (name, service, replica, ports) in &plan {
        let mut env = common.clone();
        env.push(("DATABASE_URL".into(), dbs.urls[service].clone()));
        env.push(("OTEL_SERVICE_NAME".into(), format!("sagaflow-{name}")));
        for (key, port) in ports {
            env.push(((*key).into(), format!("127.0.0.1:{port}")));
        }
        if *service == "gateway" {
            let url = |s: &str, key: &str| {
                port_of(s, *replica, key)
                    .map(|p| format!("http://127.0.0.1:{p}"))
                    .unwrap_or_default()
            };
            env.push(("GATEWAY_CART_URL".into(), url("cart", "CART_LISTEN")));
            env.push(("GATEWAY_ORDER_URL".into(), url("order", "ORDER_LISTEN")));
            env.push((
                "GATEWAY_NOTIFICATION_URL".into(),
                url("notification", "NOTIFICATION_LISTEN"),
            ));
            env.push((
                "GATEWAY_PLANNER_URL".into(),
                url("planner", "PLANNER_LISTEN"),
            ));
            env.push((
                "GATEWAY_APPLICATIONS_URL".into(),
                url("applications", "APPLICATIONS_LISTEN"),
            ));
            env.push((
                "GATEWAY_GENERATION_URL".into(),
                url("generation", "GENERATION_LISTEN"),
            ));
            gateways.push(format!("http://127.0.0.1:{}", ports["GATEWAY_LISTEN"]));
        }
        specs.push(Spec {
            name: name.clone(),
            kind: (*service).to_owned(),
            program: sagaflow.bin.clone(),
            args: vec!["serve".into(), (*service).into(), "--no-setup".into()],
            env,
            cwd: Some(run_dir.to_path_buf()),
            log: run_dir.join("logs").join(format!("{name}.log")),
        });
    }
    for spec in specs {
        fleet.launch(Supervised::new(spec)).await?;
    }
    let local = Local {
        gateways,
        bootstrap,
        broker_managed,
        jwt_secret,
    };
    wait_ready(&local, dbs, fleet).await?;
    for sku in SKUS {
        sagaflow
            .set_stock(&dbs.urls["inventory"], sku, args.stock)
            .await?;
    }
    Ok(local)
}

/// The broker binary: `--broker-bin`, else `.tools/bin/nisshi` upwards of the cwd.
fn broker_bin(args: &RunArgs) -> Result<PathBuf> {
    let path = args
        .broker_bin
        .clone()
        .or_else(|| find_upwards(".tools/bin/nisshi"))
        .unwrap_or_else(|| PathBuf::from(".tools/bin/nisshi"));
    if !path.is_file() {
        return Err(Error::MissingBinary {
            what: "the local broker (Nisshi)",
            path,
            hint: "run infra/dev/broker.sh install, pass --broker-bin, or use --kafka-bootstrap",
        });
    }
    Ok(path)
}

/// Starts the local broker on a free port with SQLite storage in the run directory
/// (the command line of `infra/dev/broker.sh`); its bootstrap address.
async fn start_broker(args: &RunArgs, run_dir: &Path, fleet: &Fleet) -> Result<String> {
    let bin = broker_bin(args)?;
    let port = free_port()?;
    let data = run_dir.join("broker");
    std::fs::create_dir_all(&data)?;
    let url = format!("tcp://127.0.0.1:{port}");
    let spec = Spec {
        name: "broker".into(),
        kind: "broker".into(),
        program: bin,
        args: vec![
            "broker".into(),
            "--listener-url".into(),
            url.clone(),
            "--advertised-listener-url".into(),
            url,
            "--storage-engine".into(),
            // The broker resolves a sqlite:// path against its working directory.
            "sqlite://broker.db".into(),
        ],
        env: vec![("RUST_LOG".into(), "warn".into())],
        cwd: Some(data),
        log: run_dir.join("logs").join("broker.log"),
    };
    fleet.launch(Supervised::new(spec)).await?;
    wait_port(port, Duration::from_secs(30)).await?;
    Ok(format!("127.0.0.1:{port}"))
}

/// Waits until something listens on 127.0.0.1:`port`.
pub async fn wait_port(port: u16, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(Error::NotReady(format!(
        "nothing listens on port {port} after {timeout:?}"
    )))
}

async fn wait_ready(local: &Local, dbs: &Databases, fleet: &Fleet) -> Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut pending: Vec<String> = Vec::new();
    for gateway in &local.gateways {
        pending.push(format!("{gateway}/readyz"));
        for sku in SKUS {
            pending.push(format!("{gateway}/v1/products/{sku}"));
        }
    }
    loop {
        let mut still = Vec::new();
        for url in pending {
            let ok = http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if !ok {
                still.push(url);
            }
        }
        pending = still;
        let priced: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM catalog_prices WHERE sku = ANY($1) AND currency = 'EUR'",
        )
        .bind(SKUS.map(str::to_owned).to_vec())
        .fetch_one(dbs.pool("pricing"))
        .await
        .unwrap_or(0);
        if pending.is_empty() && priced == SKUS.len() as i64 {
            return Ok(());
        }
        let exited = fleet.revive_exited().await;
        if !exited.is_empty() {
            return Err(Error::NotReady(exited.join("; ")));
        }
        if Instant::now() > deadline {
            return Err(Error::NotReady(format!(
                "after 120 s: waiting for {pending:?}; pricing knows {priced} of {} products",
                SKUS.len()
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
