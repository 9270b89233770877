//! The request-latency histogram `sagaflow_http_request_seconds`: one observation
//! per request, labelled by the matched route template (never the raw path), the
//! method and the status. Reads the binary's shared recorder
//! (`common::metrics_recorder`).

use crate::common;

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;
use uuid::Uuid;

use common::{Gateway, TENANT, USER};

#[tokio::test]
async fn requests_are_timed_by_route_method_and_status() -> anyhow::Result<()> {
    let recorder = common::metrics_recorder();
    // Other tests of the binary time requests on the same routes in parallel,
    // so this one checks that its own requests were counted: each count grew.
    let count = |text: &str, labels: &str| {
        text.lines()
            .find(|line| {
                line.starts_with("sagaflow_http_request_seconds_count{") && line.contains(labels)
            })
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let labels = [
        r#"route="/v1/checkouts/{id}",method="GET",status="200""#,
        r#"route="/v1/checkouts/{id}",method="GET",status="404""#,
        r#"route="/v1/checkouts",method="POST",status="202""#,
        r#"route="unmatched",method="GET",status="404""#,
    ];
    let before = recorder.render();
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
    for labels in labels {
        assert!(
            count(&text, labels) > count(&before, labels),
            "{labels} not counted: {text}"
        );
    }
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
