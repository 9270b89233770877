//! The request-latency histogram `sagaflow_http_request_seconds`: one observation
//! per request, labelled by the matched route template (never the raw path), the
//! method and the status. Its own test binary: it installs the global recorder.

mod common;

use axum::body::Body;
use axum::http::Request;
use metrics_exporter_prometheus::PrometheusBuilder;
use tower::ServiceExt;
use uuid::Uuid;

use common::{Gateway, TENANT, USER};

#[tokio::test]
async fn requests_are_timed_by_route_method_and_status() -> anyhow::Result<()> {
    let recorder = PrometheusBuilder::new()
        .set_buckets(&[0.005, 0.05, 0.5, 5.0])?
        .install_recorder()?;
    let gw = Gateway::start().await?;
    let id = gw.checkout(TENANT, USER).await?;
    let unknown = Uuid::now_v7();
    for uri in [
        format!("/v1/checkouts/{id}"),
        format!("/v1/checkouts/{unknown}"),
    ] {
        gw.app
            .clone()
            .oneshot(common::get_request(TENANT, USER, &uri))
            .await?;
    }
    gw.app
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("/no/such/{unknown}"))
                .body(Body::empty())?,
        )
        .await?;
    let text = recorder.render();
    let count = |labels: &str| {
        text.lines()
            .find(|line| {
                line.starts_with("sagaflow_http_request_seconds_count{") && line.contains(labels)
            })
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    assert_eq!(
        count(r#"route="/v1/checkouts/{id}",method="GET",status="200""#),
        Some(1),
        "{text}"
    );
    assert_eq!(
        count(r#"route="/v1/checkouts/{id}",method="GET",status="404""#),
        Some(1),
        "{text}"
    );
    assert_eq!(
        count(r#"route="/v1/checkouts",method="POST",status="202""#),
        Some(1),
        "{text}"
    );
    assert_eq!(
        count(r#"route="unmatched",method="GET",status="404""#),
        Some(1),
        "{text}"
    );
    assert!(
        !text.contains(&id.to_string()) && !text.contains(&unknown.to_string()),
        "ids must not become label values"
    );
    assert!(
        text.contains("sagaflow_http_request_seconds_bucket{"),
        "a histogram: {text}"
    );
    Ok(())
}
