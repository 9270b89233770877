//! `run` as the `sagaflow` binary calls it: it binds `PLANNER_LISTEN`, serves the
//! API and the messaging loops until shutdown, and refuses a bad setting by name
//! before binding anything.

use crate::common;

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
    let addr = SocketAddr::from(([127, 0, 0, 1], sagaflow_test_support::free_port()?));
    let settings = Settings {
        listen: addr,
        sweep_ms: 50,
        internal_token_secret: Some(sagaflow_test_support::service_auth::Secret::new(
            sagaflow_test_support::service_auth::INTERNAL_TOKEN_SECRET,
        )),
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
    // Identity headers without the gateway's token are refused at the port too.
    let spoofed = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            stream,
            "GET /v1/assistant/plans HTTP/1.1\r\nHost: planner\r\nx-tenant-id: acme\r\n\
             x-user-id: ada\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok::<_, std::io::Error>(response)
    })
    .await??;
    assert!(spoofed.starts_with("HTTP/1.1 401"), "{spoofed}");
    // The service's loops run beside the API: the sweep expires a due plan.
    sqlx::query(
        "INSERT INTO plans (plan_id, tenant_id, user_id, text, dry_run, intent, steps, validation,
                            status, expires_at)
         VALUES ($1, 'acme', 'ada', 'Buy 1 MUG', true, $2, '[]', $3, 'dry_run',
                 now() - interval '1 second')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(sqlx::types::Json(sagaflow_planner::intent::rules::parse(
        "Buy 1 MUG",
    )))
    .bind(sqlx::types::Json(
        sagaflow_planner::validate::Validation::default(),
    ))
    .execute(&db.pool)
    .await?;
    eventually(
        "the sweep to expire the plan",
        Duration::from_secs(20),
        || async {
            let status: String = sqlx::query_scalar("SELECT status FROM plans")
                .fetch_one(&db.pool)
                .await?;
            Ok((status == "expired").then_some(()))
        },
    )
    .await?;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), task).await???;

    let err = sagaflow_planner::run(
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        Settings::default(),
        CancellationToken::new(),
    )
    .await
    .expect_err("no internal token secret");
    assert!(
        err.to_string().contains("SAGAFLOW_INTERNAL_TOKEN_SECRET"),
        "{err}"
    );

    let mut bad = Settings {
        internal_token_secret: Some(sagaflow_test_support::service_auth::Secret::new(
            sagaflow_test_support::service_auth::INTERNAL_TOKEN_SECRET,
        )),
        ..Settings::default()
    };
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
