//! `/readyz` follows the process's broker probe (the `BrokerHealth` handle that
//! `sagaflow serve` hands over in the settings): 503 naming the broker while the
//! last probe failed, 200 once one passes; `/healthz` stays 200 throughout.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sagaflow_bus::probe::BrokerHealth;
use sagaflow_gateway::Settings;
use serde_json::json;

use common::Gateway;

fn get(uri: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn readiness_follows_the_broker_probe() -> anyhow::Result<()> {
    let health = BrokerHealth::default();
    let gw = Gateway::with_settings(Settings {
        broker_health: health.clone(),
        ..common::settings()
    })
    .await?;
    assert_eq!(
        gw.send(get("/readyz")).await?,
        (StatusCode::OK, json!({ "status": "ok" })),
        "a health that has not probed yet counts as serving"
    );

    health.set(false);
    let (status, body) = gw.send(get("/readyz")).await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "unavailable");
    let message = body["detail"].as_str().unwrap_or_default();
    assert!(message.contains("broker"), "{message}");
    assert_eq!(gw.send(get("/healthz")).await?.0, StatusCode::OK);

    health.set(true);
    assert_eq!(
        gw.send(get("/readyz")).await?,
        (StatusCode::OK, json!({ "status": "ok" }))
    );
    Ok(())
}
