//! The server-sent event streams as a whole (`sagaflow_gateway::streams`): they
//! wake on the projection's `NOTIFY` (not on a timer), are capped per user and in
//! all, end at their lifetime and at shutdown with a `reconnect` event, and 500
//! of them on stuck sagas neither slow other requests down nor hold up the
//! gateway's shutdown. Real PostgreSQL; the 500-stream test serves over TCP.

use crate::common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use sagaflow_gateway::Settings;
use sagaflow_test_support::eventually;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use uuid::Uuid;

use common::{
    Gateway, SseReader, TENANT, USER, checkout_body, feed_event, get_request, progress_of,
    settings, token,
};

/// `GET /v1/sagas/{id}/stream` as `tenant`/`user` through the router.
async fn open(
    gw: &Gateway,
    tenant: &str,
    user: &str,
    id: Uuid,
) -> anyhow::Result<axum::response::Response> {
    Ok(gw
        .app
        .clone()
        .oneshot(get_request(tenant, user, &format!("/v1/sagas/{id}/stream")))
        .await?)
}

/// The JSON body of a refused stream.
async fn refused(response: axum::response::Response) -> anyhow::Result<(StatusCode, Value)> {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, serde_json::from_slice(&bytes)?))
}

#[tokio::test]
async fn a_projected_event_reaches_an_open_stream_at_once_not_on_the_safety_poll()
-> anyhow::Result<()> {
    // The safety poll is 30 s (22.5 s at the earliest), the lifetime 15 min: only
    // the projection's NOTIFY can bring an event within 2 s.
    let gw = Gateway::with_settings(Settings {
        sse_safety_poll_secs: 30,
        ..settings()
    })
    .await?;
    let id = gw.checkout(TENANT, USER).await?;
    let event =
        |seq, kind: &str| progress_of("checkout", id, seq, kind, None, "running", json!({}));
    feed_event(&gw, TENANT, &event(1, "started")).await?;
    let response = open(&gw, TENANT, USER, id).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let mut sse = SseReader::new(response.into_body());
    let (name, data) = sse.next().await?.expect("the stored event");
    assert_eq!((name.as_str(), &data["seq"]), ("started", &json!(1)));
    let streams = gw.state.streams.clone();
    eventually("the listener listens", Duration::from_secs(10), || async {
        Ok(streams.is_listening())
    })
    .await?;

    // The projection runs on the database (as another replica's consumer would),
    // not through this gateway's process: the wake-up crosses PostgreSQL.
    for seq in 2..=4 {
        let sent = Instant::now();
        feed_event(&gw, TENANT, &event(seq, "command_sent")).await?;
        let (name, data) = sse.next().await?.expect("the new event");
        let took = sent.elapsed();
        assert_eq!((name.as_str(), &data["seq"]), ("command_sent", &json!(seq)));
        assert!(took < Duration::from_secs(2), "event {seq} took {took:?}");
    }
    Ok(())
}

#[tokio::test]
async fn streams_past_a_users_cap_or_the_gateways_get_429_saying_what_to_do() -> anyhow::Result<()>
{
    let gw = Gateway::with_settings(Settings {
        sse_max_per_user: 2,
        sse_max_streams: 3,
        ..settings()
    })
    .await?;
    let mine = gw.checkout(TENANT, USER).await?;
    // The same user id in another tenant is another person with their own cap.
    let namesake = gw.checkout("tenant-b", USER).await?;
    let someone = gw.checkout(TENANT, "user-3").await?;

    let first = open(&gw, TENANT, USER, mine).await?;
    let second = open(&gw, TENANT, USER, mine).await?;
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let third = open(&gw, TENANT, USER, mine).await?;
    assert_eq!(
        third
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let (status, body) = refused(third).await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["code"], "too_many_streams", "{body}");
    let message = body["detail"].as_str().unwrap_or_default();
    assert!(
        message.contains("2 live event streams") && message.contains("close one"),
        "{message}"
    );

    let namesakes = open(&gw, "tenant-b", USER, namesake).await?;
    assert_eq!(namesakes.status(), StatusCode::OK);
    assert_eq!(gw.state.streams.open_count(), 3);

    // The gateway's own cap (3) is reached: anyone else waits too.
    let (status, body) = refused(open(&gw, TENANT, "user-3", someone).await?).await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let message = body["detail"].as_str().unwrap_or_default();
    assert!(
        message.contains("maximum of 3 live event streams") && message.contains("retry"),
        "{message}"
    );

    // A closed stream gives its place back.
    drop(first);
    assert_eq!(gw.state.streams.open_count(), 2);
    let again = open(&gw, TENANT, USER, mine).await?;
    assert_eq!(again.status(), StatusCode::OK);
    drop((second, again, namesakes));
    assert_eq!(gw.state.streams.open_count(), 0);
    Ok(())
}

#[tokio::test]
async fn a_stream_ends_at_its_lifetime_with_a_reconnect_event() -> anyhow::Result<()> {
    let gw = Gateway::with_settings(Settings {
        sse_max_lifetime_secs: 1,
        ..settings()
    })
    .await?;
    let id = gw.checkout(TENANT, USER).await?;
    feed_event(
        &gw,
        TENANT,
        &progress_of("checkout", id, 1, "started", None, "running", json!({})),
    )
    .await?;
    let opened = Instant::now();
    let response = open(&gw, TENANT, USER, id).await?;
    assert_eq!(response.status(), StatusCode::OK);
    // The saga is stuck: only the lifetime ends the stream.
    let body = tokio::time::timeout(
        Duration::from_secs(10),
        axum::body::to_bytes(response.into_body(), usize::MAX),
    )
    .await??;
    let lived = opened.elapsed();
    assert!(
        lived >= Duration::from_secs(1) && lived < Duration::from_secs(5),
        "{lived:?}"
    );
    let text = String::from_utf8(body.to_vec())?;
    let blocks: Vec<&str> = text.split("\n\n").filter(|b| !b.is_empty()).collect();
    assert_eq!(blocks.len(), 2, "{text}");
    assert!(blocks[0].contains("event: started"), "{text}");
    let last = blocks[1];
    assert!(last.contains("event: reconnect"), "{text}");
    assert!(last.contains("retry: 2000"), "{text}");
    assert!(last.contains("id: 1"), "{text}");
    let data = last
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .ok_or_else(|| anyhow::anyhow!("no data in {last:?}"))?;
    assert_eq!(
        serde_json::from_str::<Value>(data)?,
        json!({ "reason": "lifetime", "last_event_id": 1 })
    );
    assert_eq!(gw.state.streams.open_count(), 0);
    Ok(())
}

/// Reads a streamed response to its end.
async fn read_to_end(mut response: reqwest::Response) -> anyhow::Result<String> {
    let mut text = String::new();
    while let Some(chunk) = response.chunk().await? {
        text.push_str(std::str::from_utf8(&chunk)?);
    }
    Ok(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_streams_on_stuck_sagas_neither_starve_requests_nor_hold_up_shutdown()
-> anyhow::Result<()> {
    // The default caps (8 per user, 10,000 in all) and safety poll (5 s).
    let gw = Gateway::start().await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(sagaflow_gateway::serve(
        listener,
        gw.state.clone(),
        shutdown.clone(),
    ));
    let client = reqwest::Client::new();

    // 100 users, each with a checkout that never progresses, followed by 5 streams.
    let mut readers = Vec::new();
    for n in 0..100 {
        let user = format!("user-{n}");
        let id = gw.checkout(TENANT, &user).await?;
        for _ in 0..5 {
            let response = client
                .get(format!("http://{addr}/v1/sagas/{id}/stream"))
                .bearer_auth(token(TENANT, &user))
                .send()
                .await?;
            anyhow::ensure!(response.status() == 200, "stream: {}", response.status());
            readers.push(tokio::spawn(read_to_end(response)));
        }
    }
    assert_eq!(gw.state.streams.open_count(), 500);

    // Meanwhile 50 checkouts over HTTP all succeed, and quickly.
    let started = Instant::now();
    let posts = (0..50).map(|n| {
        client
            .post(format!("http://{addr}/v1/checkouts"))
            .bearer_auth(token(TENANT, &format!("buyer-{n}")))
            .header("Idempotency-Key", Uuid::new_v4().to_string())
            .json(&checkout_body())
            .send()
    });
    for response in futures::future::join_all(posts).await {
        let response = response?;
        assert_eq!(response.status(), 202, "{:?}", response.text().await);
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "50 checkouts took {took:?}");
    assert_eq!(gw.state.streams.open_count(), 500);

    // Shutdown: the server returns well within the bound, because every stream
    // ended (a server that gave up waiting would leave the clients hanging).
    let stopping = Instant::now();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server).await???;
    let stopped = stopping.elapsed();
    assert!(
        stopped < Duration::from_secs(10),
        "shutdown took {stopped:?}"
    );
    for reader in readers {
        let text = tokio::time::timeout(Duration::from_secs(5), reader).await???;
        assert!(
            text.contains("event: reconnect") && text.contains(r#""reason":"shutdown""#),
            "{text}"
        );
    }
    assert_eq!(gw.state.streams.open_count(), 0);
    Ok(())
}
