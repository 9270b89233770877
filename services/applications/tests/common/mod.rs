//! Shared test kit: a fresh migrated database, the router driven with `oneshot`,
//! and the handler test kit of sagaflow-bus.
#![allow(dead_code, unused_imports)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use sagaflow_test_support::TestDb;
use serde_json::Value;
use tower::ServiceExt;

pub use sagaflow_bus::testing::*;

/// A fresh database with the service's tables.
pub async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("applications").await?;
    sagaflow_applications::migrate(&db.pool).await?;
    Ok(db)
}

/// Who is calling: (tenant, user).
pub type Who<'a> = (&'a str, &'a str);
pub const ALICE: Who = ("acme", "alice");
/// Same tenant, another user.
pub const BOB: Who = ("acme", "bob");
/// Another tenant, same user name.
pub const EVE: Who = ("globex", "alice");

/// The router on one database.
pub struct Api {
    pub db: TestDb,
}

impl Api {
    pub async fn new() -> anyhow::Result<Self> {
        Ok(Self { db: db().await? })
    }

    /// Sends a request as `who` (no identity headers when `None`) with a JSON
    /// `body`; returns the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: Option<Who<'_>>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let raw = body.map(|b| b.to_string().into_bytes());
        self.call_raw(method, path, who, raw).await
    }

    /// Like [`Api::call`] with raw body bytes.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        who: Option<Who<'_>>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut headers = Vec::new();
        let authorization;
        if let Some((tenant, user)) = who {
            authorization =
                sagaflow_test_support::service_auth::internal_bearer("applications", tenant, user);
            headers.push(("authorization", authorization.as_str()));
        }
        self.send(method, path, &headers, body).await
    }

    /// A bodiless request with exactly these headers (no internal token unless
    /// one is among them).
    pub async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        self.send(method, path, headers, None).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("x-request-id", uuid::Uuid::now_v7().to_string())
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            );
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(bytes) => request
                .header("content-type", "application/json")
                .body(Body::from(bytes)),
            None => request.body(Body::empty()),
        }
        .expect("a valid request");
        let response = sagaflow_service_auth::internal::guard(
            sagaflow_applications::router(self.db.pool.clone()),
            sagaflow_test_support::service_auth::internal_verifier("applications"),
        )
        .oneshot(request)
        .await
        .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str, who: Who<'_>) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(who), None).await
    }

    pub async fn post(&self, path: &str, who: Who<'_>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(who), Some(body)).await
    }

    pub async fn patch(&self, path: &str, who: Who<'_>, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(who), Some(body)).await
    }

    pub async fn put(&self, path: &str, who: Who<'_>, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(who), Some(body)).await
    }

    pub async fn delete(&self, path: &str, who: Who<'_>) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(who), None).await
    }

    /// Creates an application as `who` and returns its id (asserting 201).
    pub async fn create(&self, who: Who<'_>, body: Value) -> String {
        let (status, json) = self.post("/v1/applications", who, body).await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        json["id"].as_str().expect("an id").to_owned()
    }
}

/// Asserts an error response: status, code and (optionally) field.
pub fn assert_error(
    (status, body): &(StatusCode, Value),
    want_status: StatusCode,
    code: &str,
    field: Option<&str>,
) {
    assert_eq!(*status, want_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    match field {
        Some(field) => assert_eq!(body["field"], field, "{body}"),
        None => assert!(body.get("field").is_none(), "{body}"),
    }
}
