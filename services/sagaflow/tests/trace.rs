//! One checkout saga is one connected OpenTelemetry trace across every service.
//!
//! Each service runs as its own `sagaflow serve` process (so each exports with its
//! own `service.name`) and sends OTLP/HTTP protobuf to a collector stub in this
//! test, which decodes the requests with `opentelemetry-proto`. The spans are
//! checked while every process is still running: they were exported as they ended,
//! not flushed at shutdown.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use sagaflow::platform::Service;
use sagaflow_test_support::Broker;
use uuid::Uuid;

/// One received span.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
}

type Spans = Arc<Mutex<Vec<Received>>>;

async fn export(State(spans): State<Spans>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
    let mut spans = spans.lock().expect("spans");
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(name) => Some(name.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                spans.push(Received {
                    service: service.clone(),
                    name: span.name,
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    parent_span_id: span.parent_span_id,
                });
            }
        }
    }
    ExportTraceServiceResponse::default().encode_to_vec()
}

/// An OTLP/HTTP collector on 127.0.0.1 that keeps every span it receives.
async fn collector() -> anyhow::Result<(SocketAddr, Spans)> {
    let spans = Spans::default();
    let app = axum::Router::new()
        .route("/v1/traces", post(export))
        .with_state(spans.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, spans))
}

const TRACED: [Service; 8] = [
    Service::Gateway,
    Service::Orchestrator,
    Service::Inventory,
    Service::Pricing,
    Service::Payment,
    Service::Order,
    Service::Cart,
    Service::Notification,
];

/// What is wrong with the trace that starts at the gateway's `POST /v1/checkouts`
/// span, or `None` when it is one connected tree over every traced service.
fn trace_problem(spans: &[Received]) -> Option<String> {
    let Some(root) = spans
        .iter()
        .find(|s| s.service == "sagaflow-gateway" && s.name == "POST /v1/checkouts")
    else {
        return Some("no gateway request span yet".into());
    };
    let trace: Vec<&Received> = spans
        .iter()
        .filter(|s| s.trace_id == root.trace_id)
        .collect();
    let services: BTreeSet<&str> = trace.iter().map(|s| s.service.as_str()).collect();
    let missing: Vec<String> = TRACED
        .iter()
        .map(|s| format!("sagaflow-{}", s.name()))
        .filter(|name| !services.contains(name.as_str()))
        .collect();
    if !missing.is_empty() {
        return Some(format!("no spans yet from {missing:?}"));
    }
    let ids: BTreeSet<&[u8]> = trace.iter().map(|s| s.span_id.as_slice()).collect();
    let roots: Vec<&&Received> = trace
        .iter()
        .filter(|s| s.parent_span_id.is_empty())
        .collect();
    if roots.len() != 1 {
        return Some(format!("{} roots: {roots:?}", roots.len()));
    }
    let orphans: Vec<&&Received> = trace
        .iter()
        .filter(|s| !s.parent_span_id.is_empty() && !ids.contains(s.parent_span_id.as_slice()))
        .collect();
    if !orphans.is_empty() {
        return Some(format!(
            "spans whose parent is not in the trace: {orphans:?}"
        ));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_checkout_is_one_connected_trace_across_every_service() -> anyhow::Result<()> {
    let _serial = exclusive().await;
    sagaflow_test_support::init_tracing();
    let (collector, spans) = collector().await?;
    let broker = Broker::mock()?;
    create_platform_topics(&broker).await?;
    let dbs = Databases::create().await?;
    sagaflow_inventory::set_stock(dbs.pool(Service::Inventory), "MUG", 10).await?;
    let mut processes = Processes::new(
        broker.bootstrap(),
        vec![
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
                format!("http://{collector}"),
            ),
            // Export ended spans every 100 ms (the SDK's batch processor setting).
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into()),
        ],
    )?;
    for service in TRACED {
        processes.start(service, &dbs)?;
    }
    // The catalogue publishes the test products (outside the checkout's trace).
    processes.start(Service::Catalog, &dbs)?;
    let http = reqwest::Client::new();
    let gateway = format!("http://{}", processes.gateway);
    let ready = Instant::now() + Duration::from_secs(60);
    while http.get(format!("{gateway}/readyz")).send().await.is_err() {
        anyhow::ensure!(Instant::now() < ready, "the gateway did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    catalogue_ready(&dbs).await?;

    let id = start_checkout(
        &http,
        &gateway,
        &checkout_body("MUG", 1, "card", Uuid::now_v7()),
    )
    .await?;
    let view = wait_terminal(&http, &gateway, id, Duration::from_secs(60)).await?;
    assert_eq!(view["status"], "completed", "{view}");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let received = spans.lock().expect("spans").clone();
        match trace_problem(&received) {
            None => break,
            Some(problem) if Instant::now() > deadline => {
                let by_service: BTreeMap<&str, Vec<&str>> =
                    received.iter().fold(BTreeMap::new(), |mut map, s| {
                        map.entry(s.service.as_str())
                            .or_default()
                            .push(s.name.as_str());
                        map
                    });
                anyhow::bail!("{problem}; received: {by_service:#?}");
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    // Every step ran in its own process and shows up as that service's span.
    let received = spans.lock().expect("spans").clone();
    for (service, name) in [
        ("sagaflow-orchestrator", "orchestrator InitiateCheckout"),
        ("sagaflow-inventory", "inventory ReserveInventory"),
        ("sagaflow-payment", "payment ProcessPayment"),
        ("sagaflow-order", "order CreateOrder"),
        ("sagaflow-orchestrator", "orchestrator OrderCreated"),
        // The relays' sends, as producer spans.
        ("sagaflow-gateway", "orchestrator.commands publish"),
        ("sagaflow-orchestrator", "inventory.commands publish"),
        ("sagaflow-inventory", "inventory.events publish"),
    ] {
        assert!(
            received
                .iter()
                .any(|s| s.service == service && s.name == name),
            "{service} span {name:?} missing"
        );
    }
    // A consumed command's span is the child of the send that published it.
    let send = received
        .iter()
        .find(|s| s.service == "sagaflow-orchestrator" && s.name == "inventory.commands publish")
        .expect("the orchestrator's send");
    let consume = received
        .iter()
        .find(|s| s.service == "sagaflow-inventory" && s.name == "inventory ReserveInventory")
        .expect("the inventory's span");
    assert_eq!(
        consume.parent_span_id, send.span_id,
        "{consume:?} under {send:?}"
    );
    Ok(())
}
