//! Shared test kit: a fresh migrated database and the operator router driven
//! with `oneshot`.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sagaflow_catalog::http::{ApiState, router};
use sagaflow_test_support::TestDb;
use sagaflow_test_support::service_auth::{operator_bearer, operator_verifier};
use serde_json::Value;
use tower::ServiceExt;

/// A fresh database with the service's tables.
pub async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("catalog").await?;
    sagaflow_catalog::migrate(&db.pool).await?;
    Ok(db)
}

/// The operator API on one database.
pub struct Api {
    pub db: TestDb,
    pub app: axum::Router,
}

/// `Authorization` of an operator.
pub fn ops() -> String {
    operator_bearer("ops", &["operator"])
}

impl Api {
    pub async fn new() -> anyhow::Result<Self> {
        let db = db().await?;
        let app = router(ApiState {
            pool: db.pool.clone(),
            operators: operator_verifier(),
        });
        Ok(Self { db, app })
    }

    /// Sends a request with `authorization` (none when `None`) and a JSON body;
    /// returns the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        authorization: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .app
            .clone()
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// As an operator.
    pub async fn ops(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, uri, Some(&ops()), body).await
    }
}
