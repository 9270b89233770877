//! The catalogue, read from the gateway's own read model of `catalog.events`
//! ([`crate::projection::catalog`]):
//!
//! - `GET /v1/products?q=&limit=&cursor=`: active products in SKU order, keyset
//!   paginated (`limit` 1..=100, default 20; `next_cursor` is the last SKU of a
//!   full page, to pass as `cursor`), `q` filtering on SKU, name and description
//!   (case-insensitive substring);
//! - `GET /v1/products/{sku}`: one product (inactive ones too, so a cart holding
//!   one can show why it cannot be bought), with a strong `ETag` made from the SKU
//!   and its version; `If-None-Match` with it is 304. Unknown SKU: 404.
//!
//! Both are public: browsing a shop needs no token (the per-address rate limit
//! still applies; a token, if sent, changes nothing). Answers may be cached by
//! anyone for [`MAX_AGE_SECS`] (`Cache-Control: public`): a price change reaches
//! the page within that time, and checkouts always price from the catalogue.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::ApiPath;
use super::checkout_request::limits::MAX_SKU_CHARS;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::projection::catalog::{COLUMNS, Product};

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;
/// Longest text filter.
pub const MAX_QUERY_CHARS: usize = 100;
/// How long answers may be cached.
pub const MAX_AGE_SECS: u32 = 30;

/// A page of products.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<Product>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The checked query of `GET /v1/products`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub q: Option<String>,
    pub limit: i64,
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Checks the raw query parameters (unknown ones are ignored).
    pub fn parse(params: &HashMap<String, String>) -> Result<Self, ApiError> {
        let invalid =
            |field: &'static str, message: String| ApiError::InvalidQuery { field, message };
        let q = match params.get("q").map(|q| q.trim()) {
            None | Some("") => None,
            Some(q) if q.chars().count() > MAX_QUERY_CHARS || q.chars().any(char::is_control) => {
                return Err(invalid(
                    "q",
                    format!(
                        "must be at most {MAX_QUERY_CHARS} characters, without control characters"
                    ),
                ));
            }
            Some(q) => Some(q.to_owned()),
        };
        let limit = match params.get("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let cursor = match params.get("cursor") {
            None => None,
            Some(c) if c.is_empty() || c.chars().count() > MAX_SKU_CHARS => {
                return Err(invalid(
                    "cursor",
                    "must be the next_cursor of the previous page".to_owned(),
                ));
            }
            Some(c) => Some(c.clone()),
        };
        Ok(Self { q, limit, cursor })
    }
}

/// `q` as an `ILIKE` pattern matching it literally anywhere.
fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn cache_control() -> HeaderValue {
    HeaderValue::from_str(&format!("public, max-age={MAX_AGE_SECS}"))
        .unwrap_or(HeaderValue::from_static("public"))
}

/// `GET /v1/products`.
#[utoipa::path(
    get,
    path = "/v1/products",
    operation_id = "list_products",
    tag = "products",
    security((), ("bearer" = [])),
    params(
        ("q" = Option<String>, Query, description = "Only products whose SKU, name or description contains this (case-insensitive)"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "Active products in SKU order", body = ProductPage),
        (status = 400, body = ErrorBody), (status = 429, body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query.map_err(|_| ApiError::InvalidQuery {
        field: "query",
        message: "is not a valid query string".into(),
    })?;
    let query = ListQuery::parse(&params)?;
    let mut items: Vec<Product> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM products
         WHERE active
           AND ($1::text IS NULL OR sku > $1)
           AND ($2::text IS NULL OR sku ILIKE $2 OR name ILIKE $2 OR description ILIKE $2)
         ORDER BY sku
         LIMIT $3"
    ))
    .bind(&query.cursor)
    .bind(query.q.as_deref().map(like_pattern))
    .bind(query.limit + 1)
    .fetch_all(&state.pool)
    .await?;
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|p| p.sku.clone())
    } else {
        None
    };
    let mut response = Json(ProductPage { items, next_cursor }).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, cache_control());
    Ok(response)
}

/// The strong entity tag of a product version: a hash of its SKU and version.
pub fn etag(sku: &str, version: i64) -> String {
    let digest = Sha256::digest(format!("{sku}\n{version}").as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` (a list of tags, or `*`) matches `tag` (weak
/// comparison, as RFC 9110 prescribes for this header).
fn none_match(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
}

/// `GET /v1/products/{sku}`.
#[utoipa::path(
    get,
    path = "/v1/products/{sku}",
    operation_id = "get_product",
    tag = "products",
    security((), ("bearer" = [])),
    params(
        ("sku" = String, Path, description = "The SKU"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of a copy the caller holds"),
    ),
    responses(
        (status = 200, description = "The product, with ETag and Cache-Control", body = Product),
        (status = 304, description = "The caller's copy (If-None-Match) is current"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(sku): ApiPath<String>,
) -> Result<Response, ApiError> {
    if sku.is_empty() || sku.chars().count() > MAX_SKU_CHARS {
        return Err(ApiError::InvalidPath {
            field: "sku",
            message: format!("must be 1 to {MAX_SKU_CHARS} characters"),
        });
    }
    let product: Product =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM products WHERE sku = $1"))
            .bind(&sku)
            .fetch_optional(&state.pool)
            .await?
            .ok_or(ApiError::NotFound)?;
    let tag = etag(&product.sku, product.version);
    let mut response = if none_match(&headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Json(product).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, cache_control());
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&tag).map_err(|err| ApiError::Internal(err.to_string()))?,
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn list_query_is_checked() {
        assert_eq!(
            ListQuery::parse(&params(&[])).expect("defaults"),
            ListQuery {
                q: None,
                limit: DEFAULT_LIMIT,
                cursor: None
            }
        );
        for (field, value) in [
            ("limit", "0"),
            ("limit", "101"),
            ("limit", "ten"),
            ("cursor", ""),
            ("q", "a\u{7}"),
        ] {
            match ListQuery::parse(&params(&[(field, value)])) {
                Err(ApiError::InvalidQuery { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_filter_is_literal() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn etags_are_strong_and_change_with_the_version() {
        let one = etag("MUG-BLUE", 1);
        assert!(one.starts_with('"') && one.ends_with('"') && !one.starts_with("W/"));
        assert_ne!(one, etag("MUG-BLUE", 2));
        assert_ne!(one, etag("MUG-RED", 1));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"other\", W/{one}")).expect("header"),
        );
        assert!(none_match(&headers, &one));
        assert!(!none_match(&headers, &etag("MUG-BLUE", 2)));
    }
}
