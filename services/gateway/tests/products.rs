//! The catalogue read model and its routes: `ProductChanged` fed through the
//! inbox (highest version wins), `GET /v1/products` (active only, keyset pages,
//! text filter, public) and `GET /v1/products/{sku}` (ETag, 304, Cache-Control,
//! 404), against a real PostgreSQL.

use crate::common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use common::{Gateway, TENANT, USER, bearer, feed_product, product_changed};

/// `GET uri`, anonymous or as `TENANT`/`USER`, with extra headers: status,
/// headers, body (JSON; `Null` when empty).
async fn get(
    gw: &Gateway,
    uri: &str,
    signed_in: bool,
    headers: &[(&str, &str)],
) -> anyhow::Result<(StatusCode, HeaderMap, Value)> {
    let mut request = Request::builder().uri(uri);
    if signed_in {
        request = request.header("Authorization", bearer(TENANT, USER));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = gw.app.clone().oneshot(request.body(Body::empty())?).await?;
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    };
    Ok((status, headers, body))
}

fn skus(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["sku"].as_str().map(str::to_owned))
        .collect()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The seeded `SKU-BLUE-L` and `SKU-RED-M`, plus three mugs (one inactive) and a
/// discount voucher whose name holds `50%`.
async fn catalogue() -> anyhow::Result<Gateway> {
    let gw = Gateway::start().await?;
    for change in [
        product_changed("MUG-BLUE", "Blue mug", true, &[("EUR", 1250)], 1),
        product_changed("MUG-GREEN", "Green mug", true, &[("EUR", 1300)], 1),
        product_changed("MUG-RED", "Red mug", false, &[("EUR", 1250)], 4),
        product_changed("VOUCHER-50", "50% voucher", true, &[("EUR", 500)], 1),
    ] {
        feed_product(gw.pool(), &change).await?;
    }
    Ok(gw)
}

#[tokio::test]
async fn the_list_is_active_products_in_sku_order_without_a_token() -> anyhow::Result<()> {
    let gw = catalogue().await?;
    let (status, headers, page) = get(&gw, "/v1/products", false, &[]).await?;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        skus(&page),
        [
            "MUG-BLUE",
            "MUG-GREEN",
            "SKU-BLUE-L",
            "SKU-RED-M",
            "VOUCHER-50"
        ]
    );
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=30")
    );
    let first = &page["items"][0];
    assert_eq!(first["name"], "Blue mug");
    assert_eq!(first["description"], "Blue mug, described");
    assert_eq!(first["active"], true);
    assert_eq!(
        first["prices"],
        serde_json::json!([{ "currency": "EUR", "amount_minor": 1250 }])
    );
    assert_eq!(first["version"], 1);
    // A signed-in caller sees the same catalogue.
    let (status, _, signed) = get(&gw, "/v1/products", true, &[]).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(signed, page);
    Ok(())
}

#[tokio::test]
async fn pages_follow_the_cursor_to_the_end() -> anyhow::Result<()> {
    let gw = catalogue().await?;
    let mut seen = Vec::new();
    let mut uri = "/v1/products?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, _, page) = get(&gw, &uri, false, &[]).await?;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        let got = skus(&page);
        assert!(got.len() <= 2, "{page}");
        seen.extend(got);
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/products?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(pages < 10, "the cursor never ends");
    }
    assert_eq!(
        seen,
        [
            "MUG-BLUE",
            "MUG-GREEN",
            "SKU-BLUE-L",
            "SKU-RED-M",
            "VOUCHER-50"
        ]
    );
    assert_eq!(pages, 3);
    // A full last page says so by an empty next one, never by a missing item.
    let (_, _, page) = get(&gw, "/v1/products?limit=5", false, &[]).await?;
    assert_eq!(skus(&page).len(), 5);
    assert_eq!(page["next_cursor"], Value::Null);
    Ok(())
}

#[tokio::test]
async fn the_text_filter_matches_sku_name_and_description_literally() -> anyhow::Result<()> {
    let gw = catalogue().await?;
    for (query, expected) in [
        ("q=mug", vec!["MUG-BLUE", "MUG-GREEN"]),
        ("q=BLUE", vec!["MUG-BLUE", "SKU-BLUE-L"]),
        ("q=shirt%20L%2C%20desc", vec!["SKU-BLUE-L"]),
        ("q=50%25", vec!["VOUCHER-50"]),
        ("q=%25", vec!["VOUCHER-50"]),
        ("q=_", vec![]),
        ("q=mug&limit=1", vec!["MUG-BLUE"]),
    ] {
        let (status, _, page) = get(&gw, &format!("/v1/products?{query}"), false, &[]).await?;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(skus(&page), expected, "{query}");
    }
    let (_, _, page) = get(&gw, "/v1/products?q=mug&limit=1", false, &[]).await?;
    assert_eq!(page["next_cursor"], "MUG-BLUE");
    let (_, _, page) = get(
        &gw,
        "/v1/products?q=mug&limit=1&cursor=MUG-BLUE",
        false,
        &[],
    )
    .await?;
    assert_eq!(skus(&page), ["MUG-GREEN"]);
    Ok(())
}

#[tokio::test]
async fn bad_list_queries_are_400_naming_the_parameter() -> anyhow::Result<()> {
    let gw = catalogue().await?;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("cursor=", "cursor"),
        ("q=%07", "q"),
    ] {
        let (status, _, body) = get(&gw, &format!("/v1/products?{query}"), false, &[]).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn a_product_has_an_etag_and_if_none_match_is_304() -> anyhow::Result<()> {
    let gw = catalogue().await?;
    let (status, headers, product) = get(&gw, "/v1/products/MUG-BLUE", false, &[]).await?;
    assert_eq!(status, StatusCode::OK, "{product}");
    assert_eq!(product["sku"], "MUG-BLUE");
    assert_eq!(product["prices"][0]["amount_minor"], 1250);
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=30")
    );
    let etag = header(&headers, "etag").unwrap_or_default().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "a strong ETag: {etag}"
    );

    let (status, headers, body) = get(
        &gw,
        "/v1/products/MUG-BLUE",
        true,
        &[("If-None-Match", &etag)],
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(body, Value::Null);
    assert_eq!(header(&headers, "etag"), Some(etag.as_str()));
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=30")
    );
    let (status, _, _) = get(
        &gw,
        "/v1/products/MUG-BLUE",
        false,
        &[("If-None-Match", &format!("\"nope\", W/{etag}"))],
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_MODIFIED, "weak comparison, lists");
    let (status, _, _) = get(
        &gw,
        "/v1/products/MUG-BLUE",
        false,
        &[("If-None-Match", "\"nope\"")],
    )
    .await?;
    assert_eq!(status, StatusCode::OK);

    // A new version changes the tag: the old copy is stale.
    feed_product(
        gw.pool(),
        &product_changed("MUG-BLUE", "Blue mug", true, &[("EUR", 1490)], 2),
    )
    .await?;
    let (status, headers, product) = get(
        &gw,
        "/v1/products/MUG-BLUE",
        false,
        &[("If-None-Match", &etag)],
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(product["prices"][0]["amount_minor"], 1490);
    assert_ne!(header(&headers, "etag"), Some(etag.as_str()));
    Ok(())
}

#[tokio::test]
async fn unknown_skus_are_404_and_inactive_ones_are_shown_inactive() -> anyhow::Result<()> {
    let gw = catalogue().await?;
    let (status, _, body) = get(&gw, "/v1/products/NOPE", false, &[]).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "not_found");
    let (status, _, body) = get(&gw, "/v1/products/MUG-RED", false, &[]).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], false);
    assert_eq!(body["version"], 4);
    let long = format!("/v1/products/{}", "X".repeat(65));
    let (status, _, body) = get(&gw, &long, false, &[]).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "sku");
    Ok(())
}

#[tokio::test]
async fn the_highest_version_wins_whatever_the_order() -> anyhow::Result<()> {
    let gw = catalogue().await?;
    // Version 3 first, then the older 2 arrives late: 3 stays.
    let v3 = product_changed("MUG-GREEN", "Green mug v3", false, &[("EUR", 1500)], 3);
    let v2 = product_changed("MUG-GREEN", "Green mug v2", true, &[("EUR", 1)], 2);
    assert!(feed_product(gw.pool(), &v3).await?);
    assert!(feed_product(gw.pool(), &v2).await?);
    let (_, _, product) = get(&gw, "/v1/products/MUG-GREEN", false, &[]).await?;
    assert_eq!(product["name"], "Green mug v3");
    assert_eq!(product["active"], false);
    assert_eq!(product["version"], 3);
    // Deactivated: gone from the list.
    let (_, _, page) = get(&gw, "/v1/products?q=mug", false, &[]).await?;
    assert_eq!(skus(&page), ["MUG-BLUE"]);
    // Reactivated by a newer version: back.
    let v4 = product_changed("MUG-GREEN", "Green mug", true, &[("EUR", 1400)], 4);
    feed_product(gw.pool(), &v4).await?;
    let (_, _, page) = get(&gw, "/v1/products?q=mug", false, &[]).await?;
    assert_eq!(skus(&page), ["MUG-BLUE", "MUG-GREEN"]);
    Ok(())
}
