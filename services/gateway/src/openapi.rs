//! The OpenAPI 3.1 document of the API ([`document`]), served at `GET
//! /openapi.json`, and an interactive reference at `GET /docs` (Scalar, via
//! `utoipa-scalar`: the crate builds offline; the page loads Scalar's script from
//! its CDN when a browser opens it, which `/docs`' own CSP allows — the rest of
//! the gateway allows no other origin).
//!
//! Handlers the gateway serves itself are described by their `#[utoipa::path]`
//! attributes (listed in [`ApiDoc`]); the forwarded routes are added from
//! [`crate::routes::proxied::PROXIED`] with generic JSON bodies. The tests check
//! that every route of [`crate::routes::table`] is in the document and nothing
//! else is, and that the document is well formed (see `tests/openapi.rs`).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, ObjectBuilder, Ref, Required, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    asyncapi, checkouts, documents, generations, health, history, me, orders, products, proxied,
    sagas, web,
};

/// The name of the bearer security scheme.
pub const BEARER: &str = "bearer";

/// The CSP of `/docs`: Scalar's script and styles from its CDN.
pub const DOCS_CSP: &str = "default-src 'none'; script-src https://cdn.jsdelivr.net; \
     style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.scalar.com; \
     font-src https://cdn.jsdelivr.net https://fonts.scalar.com data:; img-src 'self' data: https:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The routes the gateway serves itself.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sagaflow gateway",
        description = "The Sagaflow API: checkouts and document generations (sagas), their \
                       progress, the catalogue, the cart, the assistant and the job-application \
                       tracker. Every /v1 route but the catalogue's (GET /v1/products...) \
                       needs `Authorization: Bearer <JWT>` (claims sub, tenant_id, exp, iss, \
                       aud). Errors are RFC 9457 problems (`application/problem+json`): \
                       `{\"type\", \"title\", \"status\", \"detail\", \"code\", \"field\"?, \
                       \"request_id\"?}`; 429 carries Retry-After."
    ),
    paths(
        checkouts::create,
        checkouts::get,
        products::list,
        products::get,
        generations::create,
        generations::get,
        generations::cancel,
        generations::stream,
        documents::download,
        orders::cancel,
        orders::refund,
        history::history,
        me::erase,
        sagas::list,
        sagas::events,
        sagas::stream,
        health::healthz,
        health::readyz,
        json,
        docs,
        asyncapi::document,
        web::index,
        web::asset,
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "checkouts", description = "The checkout saga"),
        (name = "products", description = "The catalogue (public: no token needed)"),
        (name = "generations", description = "The document generation saga and its documents"),
        (name = "orders", description = "The caller's orders: cancel one, refund some of its lines (sagas of their own); the order list is forwarded to the order service"),
        (name = "sagas", description = "Any saga the caller started"),
        (name = "history", description = "The caller's history and data"),
        (name = "carts", description = "Forwarded to the cart service"),
        (name = "assistant", description = "Forwarded to the planner service"),
        (name = "applications", description = "Forwarded to the applications service"),
        (name = "profile", description = "The caller's CV versions and prompt templates; forwarded to the generation service"),
        (name = "notifications", description = "The caller's notification preferences and test notifications; forwarded to the notification service"),
        (name = "operations", description = "Health"),
        (name = "web", description = "The web page and this documentation"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        components.add_security_scheme(BEARER, SecurityScheme::Http(http));
    }
}

fn http_method(method: &axum::http::Method) -> HttpMethod {
    match *method {
        axum::http::Method::POST => HttpMethod::Post,
        axum::http::Method::PUT => HttpMethod::Put,
        axum::http::Method::PATCH => HttpMethod::Patch,
        axum::http::Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// `post_v1_applications_id` for `POST /v1/applications/{id}`.
fn operation_id(method: &axum::http::Method, path: &str) -> String {
    let mut id = method.as_str().to_ascii_lowercase();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        id.push('_');
        id.extend(
            part.chars()
                .filter(|c| *c != '{' && *c != '}')
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    id
}

fn json_object() -> Content {
    Content::new(Some(ObjectBuilder::new().schema_type(Type::Object).build()))
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            sagaflow_problem::CONTENT_TYPE,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

fn add_proxied(openapi: &mut utoipa::openapi::OpenApi) {
    for route in &proxied::PROXIED {
        let mut operation = OperationBuilder::new()
            .tag(route.tag)
            .summary(Some(route.summary))
            .description(Some(format!(
                "Forwarded to {} with the caller's identity.",
                route.upstream.label()
            )))
            .operation_id(Some(operation_id(&route.method, route.path)))
            .security(SecurityRequirement::new(BEARER, Vec::<String>::new()))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The backend's answer")
                    .content("application/json", json_object())
                    .build(),
            );
        for name in route
            .path
            .split('/')
            .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("1 to 128 of A-Z a-z 0-9 - _ ."))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String).build())),
            );
        }
        if route.body {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json_object())
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        for (status, description) in [
            ("400", "Bad path, query or JSON"),
            ("401", "No valid bearer token"),
            ("404", "Not found (or not the caller's)"),
            ("413", "Body too large"),
            ("429", "Too many requests"),
            ("502", "The backend failed"),
            ("503", "The backend is unavailable"),
        ] {
            operation = operation.response(status, error_response(description));
        }
        openapi
            .paths
            .add_path_operation(route.path, vec![http_method(&route.method)], operation);
    }
}

/// Gives every response without a description its status's reason phrase.
fn describe_responses(openapi: &mut utoipa::openapi::OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, response) in &mut operation.responses.responses {
                if let utoipa::openapi::RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Response")
                        .to_owned();
                }
            }
        }
    }
}

/// Serves every 4xx and 5xx response as `application/problem+json` (the
/// `#[utoipa::path]` attributes name the body, `ErrorBody`, not its media type).
fn problem_responses(openapi: &mut utoipa::openapi::OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, response) in &mut operation.responses.responses {
                let is_error = status.starts_with('4') || status.starts_with('5');
                if let utoipa::openapi::RefOr::T(response) = response
                    && is_error
                    && let Some(content) = response.content.shift_remove("application/json")
                {
                    response
                        .content
                        .insert(sagaflow_problem::CONTENT_TYPE.to_owned(), content);
                }
            }
        }
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut openapi = ApiDoc::openapi();
    add_proxied(&mut openapi);
    describe_responses(&mut openapi);
    problem_responses(&mut openapi);
    openapi
}

fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| document().to_json().unwrap_or_else(|_| "{}".to_owned()))
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "get_openapi",
    tag = "web",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object))
)]
pub async fn json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
        .into_response()
}

/// `GET /docs`.
#[utoipa::path(
    get,
    path = "/docs",
    operation_id = "get_docs",
    tag = "web",
    responses((status = 200, description = "Interactive API reference (Scalar)", content_type = "text/html", body = String))
)]
pub async fn docs() -> Response {
    static HTML: OnceLock<String> = OnceLock::new();
    let html = HTML.get_or_init(|| {
        utoipa_scalar::Scalar::new(document())
            .to_html()
            .replace("<title>Scalar</title>", "<title>Sagaflow API</title>")
    });
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, DOCS_CSP),
        ],
        html.as_str(),
    )
        .into_response()
}
