//! The OpenAPI document against the router: every route of `routes::table()` (the
//! list the router is built from) is documented with its method, and the
//! document lists nothing the router does not serve.
//!
//! Validation: utoipa writes OpenAPI 3.1, so the `openapiv3` crate (3.0 only)
//! cannot read it, and utoipa's own model does not read back its `{}` (any
//! value) schemas. The document is parsed with the `oas3` crate (an OpenAPI 3.1
//! model: version, operations, parameters, request bodies and responses with
//! their `$ref`s resolved), and checked for the rules a client generator relies
//! on: unique operation ids, every `$ref` resolving, path parameters matching the
//! template, a described response for every operation, the bearer scheme on
//! every `/v1` operation and on nothing else.

use crate::common;

use std::collections::{BTreeSet, HashSet};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sagaflow_gateway::openapi::document;
use sagaflow_gateway::routes::table;
use serde_json::Value;
use tower::ServiceExt;

use common::Gateway;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_owned(), path.clone()));
            }
        }
    }
    operations
}

fn routed() -> BTreeSet<(String, String)> {
    table()
        .iter()
        .map(|route| {
            (
                route.method.as_str().to_ascii_lowercase(),
                route.path.to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let doc = serde_json::to_value(document()).expect("serialises");
    let documented = documented(&doc);
    let routed = routed();
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    // The table has no duplicates (the router would merge or panic on them).
    assert_eq!(routed.len(), table().len());
    // The new routes are all there.
    for (method, path) in [
        ("get", "/v1/sagas"),
        ("get", "/v1/sagas/{id}/stream"),
        ("get", "/v1/products"),
        ("get", "/v1/products/{sku}"),
        ("get", "/v1/carts/{id}"),
        ("put", "/v1/carts/{id}/items/{sku}"),
        ("delete", "/v1/carts/{id}/items/{sku}"),
        ("post", "/v1/assistant/plans/{id}/confirm"),
        ("patch", "/v1/applications/{id}/interviews/{interview_id}"),
        ("put", "/v1/tracker/preferences"),
        ("get", "/openapi.json"),
        ("get", "/docs"),
        ("get", "/app/{file}"),
    ] {
        assert!(
            documented.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path}"
        );
    }
}

/// Every `$ref` string in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => out.push(target.clone()),
                    _ => refs(value, out),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let doc = serde_json::to_value(document()).expect("serialises");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    // It parses as OpenAPI 3.1, and every operation's references resolve.
    let spec = oas3::from_json(doc.to_string()).expect("parses as OpenAPI 3.1");
    let version = spec.validate_version().expect("a supported version");
    assert_eq!((version.major, version.minor), (3, 1));
    let mut operations = 0;
    for (path, method, operation) in spec.operations() {
        operations += 1;
        operation
            .parameters(&spec)
            .unwrap_or_else(|e| panic!("{method} {path}: parameters: {e}"));
        operation
            .request_body(&spec)
            .unwrap_or_else(|e| panic!("{method} {path}: request body: {e}"));
        assert!(!operation.responses(&spec).is_empty(), "{method} {path}");
    }
    assert_eq!(operations, table().len());

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");

    let mut operation_ids = HashSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(path.starts_with('/'), "{path}");
        let template_params: BTreeSet<String> = path
            .split('/')
            .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                operation_ids.insert(id.to_owned()),
                "duplicate operationId {id}"
            );
            let responses = operation["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{method} {path}: no responses");
            for (status, response) in responses {
                assert!(
                    status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()),
                    "{method} {path}: status {status}"
                );
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status}: no description"
                );
            }
            let declared: BTreeSet<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(p["required"], true, "{method} {path}: {p}");
                    p["name"].as_str().expect("name").to_owned()
                })
                .collect();
            assert_eq!(
                declared, template_params,
                "{method} {path}: path parameters"
            );
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            assert_eq!(
                secured,
                path.starts_with("/v1/"),
                "{method} {path}: bearer security"
            );
        }
    }
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(!targets.is_empty());
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {target}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "$ref {target} does not resolve"
        );
    }
}

#[tokio::test]
async fn the_document_and_the_docs_page_are_served() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let served = gw.get_public_json("/openapi.json").await?;
    assert_eq!(served, serde_json::to_value(document())?);

    let response = gw
        .app
        .clone()
        .oneshot(Request::builder().uri("/docs").body(Body::empty())?)
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src https://cdn.jsdelivr.net"), "{csp}");
    let html = String::from_utf8(
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await?
            .to_vec(),
    )?;
    assert!(html.contains("<title>Sagaflow API</title>"));
    assert!(html.contains("\"/v1/checkouts\""), "the spec is embedded");
    Ok(())
}

#[test]
fn the_catalogue_routes_are_documented_as_public() {
    let doc = serde_json::to_value(document()).expect("serialises");
    for path in ["/v1/products", "/v1/products/{sku}"] {
        let security = doc["paths"][path]["get"]["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            security
                .iter()
                .any(|r| r.as_object().is_some_and(|o| o.is_empty())),
            "{path}: anonymous access is documented: {security:?}"
        );
    }
    // And the checkout body takes no price.
    let request = &doc["components"]["schemas"]["CheckoutRequest"];
    assert!(
        request["properties"]["shipping_country"].is_object(),
        "{request}"
    );
    let item = &doc["components"]["schemas"]["Item"];
    assert!(
        item["properties"].get("unit_price_minor").is_none(),
        "{item}"
    );
}

/// The committed document: `docs/openapi.json`, the API as clients see it.
fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

/// What a client built on `old` would break on in `new`: operations removed,
/// responses removed, parameters that became required or appeared required, and
/// request-body properties that became required.
fn breaking_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut changes = Vec::new();
    for (method, path) in documented(old) {
        let Some(after) = new["paths"][&path].get(&method) else {
            changes.push(format!("{} {path} was removed", method.to_uppercase()));
            continue;
        };
        let before = &old["paths"][&path][&method];
        let operation = format!("{} {path}", method.to_uppercase());
        for status in before["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(s, _)| s)
        {
            if after["responses"].get(status).is_none() {
                changes.push(format!("{operation}: response {status} was removed"));
            }
        }
        let required = |op: &Value| -> BTreeSet<String> {
            op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["required"] == true)
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        };
        for name in required(after).difference(&required(before)) {
            changes.push(format!("{operation}: parameter {name} is now required"));
        }
        let body_required = |doc: &Value, op: &Value| -> BTreeSet<String> {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            let schema = match schema["$ref"].as_str() {
                Some(reference) => {
                    let name = reference.rsplit('/').next().unwrap_or_default();
                    &doc["components"]["schemas"][name]
                }
                None => schema,
            };
            schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        };
        for field in body_required(new, after).difference(&body_required(old, before)) {
            changes.push(format!(
                "{operation}: request field {field} is now required"
            ));
        }
    }
    changes
}

#[test]
fn the_committed_document_is_current_and_changes_do_not_break_clients() {
    let current = serde_json::to_value(document()).expect("serialises");
    let pretty = format!(
        "{}\n",
        serde_json::to_string_pretty(&current).expect("serialises")
    );
    let path = committed_path();
    if std::env::var_os("SAGAFLOW_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &pretty).expect("writes docs/openapi.json");
        return;
    }
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).expect("docs/openapi.json is committed"),
    )
    .expect("docs/openapi.json parses");
    let breaking = breaking_changes(&committed, &current);
    assert!(
        breaking.is_empty(),
        "breaking changes against docs/openapi.json: {breaking:#?}\nKeep the old shape, \
         or, if clients are told, regenerate it with SAGAFLOW_UPDATE_OPENAPI=1 cargo test \
         -p sagaflow-gateway --test integration openapi::"
    );
    assert!(
        committed == current,
        "docs/openapi.json is out of date (no breaking change): regenerate it with \
         SAGAFLOW_UPDATE_OPENAPI=1 cargo test -p sagaflow-gateway --test integration openapi::"
    );
}

#[test]
fn the_breaking_change_check_catches_each_kind() {
    let old = serde_json::to_value(document()).expect("serialises");
    assert!(breaking_changes(&old, &old).is_empty());
    let mut new = old.clone();
    new["paths"]["/v1/checkouts"]
        .as_object_mut()
        .expect("documented")
        .remove("post");
    new["paths"]["/v1/sagas/{id}/events"]["get"]["responses"]
        .as_object_mut()
        .expect("responses")
        .remove("404");
    new["paths"]["/v1/sagas"]["get"]["parameters"] = serde_json::json!([
        {"name": "cursor", "in": "query", "required": true, "schema": {"type": "string"}}
    ]);
    let changes = breaking_changes(&old, &new);
    assert!(
        changes.contains(&"POST /v1/checkouts was removed".to_owned()),
        "{changes:?}"
    );
    assert!(
        changes.contains(&"GET /v1/sagas/{id}/events: response 404 was removed".to_owned()),
        "{changes:?}"
    );
    assert!(
        changes.contains(&"GET /v1/sagas: parameter cursor is now required".to_owned()),
        "{changes:?}"
    );
}

/// Every documented error (4xx, 5xx) with a body is an RFC 9457 problem:
/// `application/problem+json` with the `Problem` schema (type, title, status,
/// detail, code, field?, request_id?).
#[test]
fn every_error_response_is_a_problem() {
    let doc = serde_json::to_value(document()).expect("serialises");
    let problem = &doc["components"]["schemas"]["Problem"];
    for member in ["type", "title", "status", "detail", "code"] {
        assert!(
            problem["required"]
                .as_array()
                .is_some_and(|r| r.contains(&Value::from(member))),
            "Problem requires {member}: {problem}"
        );
    }
    assert!(problem["properties"]["field"].is_object(), "{problem}");
    assert!(problem["properties"]["request_id"].is_object(), "{problem}");
    assert!(doc["components"]["schemas"].get("ErrorBody").is_none());
    let mut errors = 0;
    for (method, path) in documented(&doc) {
        let operation = &doc["paths"][&path][&method];
        for (status, response) in operation["responses"].as_object().into_iter().flatten() {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let Some(content) = response["content"].as_object() else {
                continue;
            };
            errors += 1;
            let where_ = format!("{} {path} {status}", method.to_uppercase());
            assert_eq!(
                content.keys().collect::<Vec<_>>(),
                vec!["application/problem+json"],
                "{where_}"
            );
            assert_eq!(
                content["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{where_}"
            );
        }
    }
    assert!(errors > 0);
}
