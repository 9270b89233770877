//! Internal and operator tokens through real axum routers: the guard refuses a
//! direct call without the gateway's token, a token for another service, a token
//! signed with another secret; the `Operator` extractor answers 401 / 403 / 200.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use http_body_util::BodyExt;
use sagaflow_service_auth::internal::{self, guard};
use sagaflow_service_auth::{InternalCaller, Operator, OperatorVerifier, Secret, operator};
use serde_json::Value;
use tower::ServiceExt;

const SECRET: &str = "internal-test-secret-0123456789abcdef";
const OPERATOR_SECRET: &str = "operator-test-secret-0123456789abcdef";

async fn call(app: &Router, token: Option<&str>, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut request = Request::get("/whoami");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn service() -> Router {
    let verifier = sagaflow_service_auth::InternalVerifier::new(Some(&Secret::new(SECRET)), "cart")
        .expect("verifier");
    let app = Router::new()
        .route(
            "/whoami",
            get(|caller: InternalCaller| async move {
                axum::Json(serde_json::json!({"tenant": caller.tenant_id, "user": caller.user_id}))
            }),
        )
        .route("/healthz", get(|| async { "ok" }));
    guard(app, verifier)
}

#[tokio::test]
async fn a_guarded_service_trusts_only_the_gateways_token() {
    let app = service();
    let (status, body) = call(&app, None, &[("x-tenant-id", "acme"), ("x-user-id", "ada")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["code"] == "unauthenticated"
            && body["detail"]
                .as_str()
                .expect("detail")
                .contains("bearer token"),
        "{body}"
    );

    let token = internal::mint(SECRET, "cart", "acme", "ada", &[]);
    // The headers claim someone else: the token wins.
    let (status, body) = call(
        &app,
        Some(&token),
        &[("x-tenant-id", "evil"), ("x-user-id", "eve")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"tenant": "acme", "user": "ada"}));

    let for_planner = internal::mint(SECRET, "planner", "acme", "ada", &[]);
    let (status, body) = call(&app, Some(&for_planner), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["code"] == "unauthenticated"
            && body["detail"]
                .as_str()
                .expect("detail")
                .contains("another service"),
        "{body}"
    );

    let forged = internal::mint(
        "another-secret-0123456789abcdef0123456",
        "cart",
        "acme",
        "ada",
        &[],
    );
    assert_eq!(
        call(&app, Some(&forged), &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, Some("garbage"), &[]).await.0,
        StatusCode::UNAUTHORIZED
    );

    let health = app
        .clone()
        .oneshot(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(health.status(), StatusCode::OK);
}

#[derive(Clone)]
struct ApiState {
    operators: OperatorVerifier,
}

impl FromRef<ApiState> for OperatorVerifier {
    fn from_ref(state: &ApiState) -> Self {
        state.operators.clone()
    }
}

#[tokio::test]
async fn operator_apis_need_the_operator_role() {
    let state = ApiState {
        operators: OperatorVerifier::new(Some(&Secret::new(OPERATOR_SECRET))).expect("verifier"),
    };
    let app = Router::new()
        .route(
            "/whoami",
            get(|operator: Operator| async move {
                axum::Json(
                    serde_json::json!({"sub": operator.subject, "tenant": operator.tenant_id}),
                )
            }),
        )
        .with_state(state);
    let hour = Duration::from_secs(3600);
    assert_eq!(call(&app, None, &[]).await.0, StatusCode::UNAUTHORIZED);
    let user = operator::mint(OPERATOR_SECRET, "ada", Some("acme"), &["user"], hour);
    let (status, body) = call(&app, Some(&user), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["code"] == "forbidden"
            && body["detail"]
                .as_str()
                .expect("detail")
                .contains("operator")
    );
    let forged = operator::mint(SECRET, "ada", None, &["operator"], hour);
    assert_eq!(
        call(&app, Some(&forged), &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    let ops = operator::mint(OPERATOR_SECRET, "ops", Some("acme"), &["operator"], hour);
    let (status, body) = call(&app, Some(&ops), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, serde_json::json!({"sub": "ops", "tenant": "acme"}));
}
