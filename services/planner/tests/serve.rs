//! `run` as the `sagaflow` binary calls it: it binds `PLANNER_LISTEN`, serves the
//! API and the messaging loops until shutdown, and refuses a bad setting by name
//! before binding anything.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::eventually;
use sagaflow_bus::KafkaConfig;
use sagaflow_planner::Settings;
use sagaflow_test_support::{Broker, TestDb};
use tokio_util::sync::CancellationToken;

fn get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: planner\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[tokio::test]
async fn run_serves_until_shutdown_and_refuses_bad_settings() -> anyhow::Result<()> {
    let broker = Broker::mock()?;
    let db = TestDb::create("planner_serve").await?;
    sagaflow_planner::migrate(&db.pool).await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], sagaflow_test_support::tansu::free_port()?));
    let settings = Settings {
        listen: addr,
        catalog: "MUG=1250".into(),
        ..Settings::default()
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(sagaflow_planner::run(
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        settings,
        shutdown.clone(),
    ));
    let health = eventually("the API to answer", Duration::from_secs(20), || async {
        Ok(tokio::task::spawn_blocking(move || get(addr, "/healthz"))
            .await?
            .ok())
    })
    .await?;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let unauthenticated =
        tokio::task::spawn_blocking(move || get(addr, "/v1/assistant/plans")).await??;
    assert!(
        unauthenticated.starts_with("HTTP/1.1 401"),
        "{unauthenticated}"
    );
    // The catalogue from PLANNER_CATALOG was loaded.
    let price: i64 =
        sqlx::query_scalar("SELECT unit_price_minor FROM catalog_prices WHERE sku = 'MUG'")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(price, 1250);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), task).await???;

    let mut bad = Settings::default();
    bad.llm.providers = "openai,gemini".into();
    let err = sagaflow_planner::run(
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        bad,
        CancellationToken::new(),
    )
    .await
    .expect_err("an unknown provider is refused");
    assert!(err.to_string().contains("PLANNER_LLM_PROVIDERS"), "{err}");
    Ok(())
}
