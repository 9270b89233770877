//! The cart HTTP API (through the router, no server) and ClearCart through the
//! inbox, with the same user id in two tenants: neither sees nor changes the other's.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{in_tenant, send};
use sagaflow_cart::{CartHandler, NAME, Owner, store};
use sagaflow_events::messages::{CartCleared, ClearCart, OrderLine};
use sagaflow_test_support::TestDb;
use sagaflow_test_support::service_auth::{internal_bearer, internal_verifier};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

const A: &str = "tenant-a";
const B: &str = "tenant-b";
const USER: &str = "ada";

/// The cart API as served: behind the internal token guard.
fn router(pool: sqlx::PgPool) -> axum::Router {
    sagaflow_service_auth::internal::guard(sagaflow_cart::router(pool), internal_verifier("cart"))
}

async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("cart").await?;
    sagaflow_cart::migrate(&db.pool).await?;
    Ok(db)
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    caller: Option<(&str, &str)>,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some((tenant, user)) = caller {
        request = request.header("authorization", internal_bearer("cart", tenant, user));
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))?,
        None => request.body(Body::empty())?,
    };
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    };
    Ok((status, json))
}

#[tokio::test]
async fn crud_through_the_router() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(db.pool.clone());
    let cart = Uuid::now_v7();
    let uri = |rest: &str| format!("/carts/{cart}{rest}");
    let me = Some((A, USER));

    let (status, body) = call(&app, "GET", &uri(""), me, None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");

    let (status, body) = call(
        &app,
        "PUT",
        &uri("/items/A"),
        me,
        Some(json!({"quantity": 2})),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = call(
        &app,
        "PUT",
        &uri("/items/B"),
        me,
        Some(json!({"quantity": 1})),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    // Upsert: replaces the line's quantity. Lines carry no price and no total.
    let (_, body) = call(
        &app,
        "PUT",
        &uri("/items/A"),
        me,
        Some(json!({"quantity": 3})),
    )
    .await?;
    assert_eq!(
        body,
        json!({"cart_id": cart, "items": [{"sku": "A", "quantity": 3}, {"sku": "B", "quantity": 1}]})
    );

    let (status, body) = call(&app, "DELETE", &uri("/items/B"), me, None).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"], json!([{"sku": "A", "quantity": 3}]));
    let (status, body) = call(&app, "GET", &uri(""), me, None).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"], json!([{"sku": "A", "quantity": 3}]));
    Ok(())
}

#[tokio::test]
async fn a_price_from_the_client_is_422_and_bad_input_is_a_4xx_json_error() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(db.pool.clone());
    let cart = Uuid::now_v7();
    let item = format!("/carts/{cart}/items/A");
    let good = json!({"quantity": 1});
    let me = Some((A, USER));

    let (status, json) = call(
        &app,
        "PUT",
        &item,
        me,
        Some(json!({"quantity": 1, "unit_price_minor": 1})),
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    assert_eq!(json["code"], "price_not_accepted");
    let message = json["detail"].as_str().unwrap_or_default();
    assert!(
        message.contains("catalogue") && message.contains("unit_price_minor"),
        "{message}"
    );
    assert!(
        store::get_cart(&db.pool, &Owner::new(A, USER), cart)
            .await?
            .is_none()
    );

    let cases = [
        (
            "PUT",
            item.clone(),
            me,
            Some(json!({"quantity": 0})),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "PUT",
            item.clone(),
            me,
            Some(json!({"quantity": "two"})),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "PUT",
            item.clone(),
            me,
            Some(json!({"quantity": 1, "colour": "red"})),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "PUT",
            "/carts/not-a-uuid/items/A".to_owned(),
            me,
            Some(good.clone()),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "GET",
            "/carts/nope".to_owned(),
            me,
            None,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
    ];
    for (method, uri, caller, body, status, code) in cases {
        let (got, json) = call(&app, method, &uri, caller, body).await?;
        assert_eq!(
            (got, json["code"].as_str()),
            (status, Some(code)),
            "{method} {uri}: {json}"
        );
        assert!(json["detail"].is_string(), "{json}");
    }
    Ok(())
}

#[tokio::test]
async fn a_direct_call_without_the_gateways_token_is_refused() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(db.pool.clone());
    let cart = Uuid::now_v7();
    let (status, _) = call(
        &app,
        "PUT",
        &format!("/carts/{cart}/items/A"),
        Some((A, USER)),
        Some(json!({"quantity": 1})),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    // Identity headers alone, a token for another service, a forged token: 401.
    for authorization in [
        None,
        Some(internal_bearer("planner", A, USER)),
        Some(format!(
            "Bearer {}",
            sagaflow_service_auth::internal::mint(
                "not-the-gateways-secret-0123456789abcdef",
                "cart",
                A,
                USER,
                &[]
            )
        )),
    ] {
        let mut request = Request::builder()
            .method("GET")
            .uri(format!("/carts/{cart}"))
            .header("x-tenant-id", A)
            .header("x-user-id", USER);
        if let Some(value) = &authorization {
            request = request.header("authorization", value);
        }
        let response = app.clone().oneshot(request.body(Body::empty())?).await?;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        let body: Value = serde_json::from_slice(&bytes)?;
        assert_eq!(body["code"], "unauthenticated", "{body}");
    }
    // The unguarded router trusts no header either.
    let bare = sagaflow_cart::router(db.pool.clone());
    let request = Request::builder()
        .uri(format!("/carts/{cart}"))
        .header("x-tenant-id", A)
        .header("x-user-id", USER)
        .body(Body::empty())?;
    assert_eq!(
        bare.oneshot(request).await?.status(),
        StatusCode::UNAUTHORIZED
    );
    Ok(())
}

#[tokio::test]
async fn the_same_user_in_another_tenant_or_another_user_reaches_nothing() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(db.pool.clone());
    let cart = Uuid::now_v7();
    let item = format!("/carts/{cart}/items/MUG");
    let (status, _) = call(
        &app,
        "PUT",
        &item,
        Some((A, USER)),
        Some(json!({"quantity": 2})),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);

    for other in [(B, USER), (A, "mallory")] {
        // Reading or removing is 404, like a cart that does not exist (never 403).
        for (method, uri) in [("GET", format!("/carts/{cart}")), ("DELETE", item.clone())] {
            let (status, json) = call(&app, method, &uri, Some(other), None).await?;
            assert_eq!(status, StatusCode::NOT_FOUND, "{other:?} {method}: {json}");
            assert_eq!(json["code"], "not_found");
            assert!(json.get("items").is_none(), "{json}");
        }
        // Writing to the same id makes the other caller's own cart, empty of A's lines.
        let (status, theirs) = call(
            &app,
            "PUT",
            &item,
            Some(other),
            Some(json!({"quantity": 7})),
        )
        .await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(theirs["items"], json!([{"sku": "MUG", "quantity": 7}]));
    }
    let (_, mine) = call(
        &app,
        "GET",
        &format!("/carts/{cart}"),
        Some((A, USER)),
        None,
    )
    .await?;
    assert_eq!(
        mine["items"],
        json!([{"sku": "MUG", "quantity": 2}]),
        "untouched"
    );
    // Emptying B's cart leaves A's alone.
    let (status, _) = call(&app, "DELETE", &item, Some((B, USER)), None).await?;
    assert_eq!(status, StatusCode::OK);
    let (_, mine) = call(
        &app,
        "GET",
        &format!("/carts/{cart}"),
        Some((A, USER)),
        None,
    )
    .await?;
    assert_eq!(mine["items"], json!([{"sku": "MUG", "quantity": 2}]));
    Ok(())
}

fn clear(saga: Uuid, cart: Uuid, bought: &[(&str, i32)]) -> ClearCart {
    ClearCart {
        saga_id: saga,
        cart_id: cart,
        user_id: USER.into(),
        items: bought
            .iter()
            .map(|(sku, quantity)| OrderLine {
                sku: (*sku).into(),
                quantity: *quantity,
            })
            .collect(),
    }
}

async fn lines(db: &TestDb, tenant: &str, cart: Uuid) -> anyhow::Result<Vec<(String, i32)>> {
    Ok(store::get_cart(&db.pool, &Owner::new(tenant, USER), cart)
        .await?
        .map(|c| c.items.into_iter().map(|i| (i.sku, i.quantity)).collect())
        .unwrap_or_default())
}

#[tokio::test]
async fn clear_cart_takes_out_only_what_was_bought_once_per_saga() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = CartHandler::default();
    let cart = Uuid::now_v7();
    for tenant in [A, B] {
        let owner = Owner::new(tenant, USER);
        store::put_item(&db.pool, &owner, cart, "MUG", 3).await?;
        store::put_item(&db.pool, &owner, cart, "PEN", 1).await?;
        store::put_item(&db.pool, &owner, cart, "CAP", 2).await?;
    }

    // Tenant A's checkout bought 1 mug and the cap line (2); a redelivery (a new
    // message id, same saga) takes nothing more.
    let saga = Uuid::now_v7();
    let command = clear(saga, cart, &[("MUG", 1), ("CAP", 2), ("GONE", 4)]);
    for _ in 0..2 {
        let cleared: CartCleared = send(
            &db.pool,
            &handler,
            NAME,
            &in_tenant(A, Some(saga), &command),
        )
        .await?
        .expect();
        assert_eq!((cleared.saga_id, cleared.cart_id), (saga, cart));
        assert_eq!(
            lines(&db, A, cart).await?,
            [("MUG".to_owned(), 2), ("PEN".to_owned(), 1)],
            "the pen and the other mugs stay"
        );
    }
    // The same user id in tenant B kept everything.
    assert_eq!(
        lines(&db, B, cart).await?,
        [
            ("CAP".to_owned(), 2),
            ("MUG".to_owned(), 3),
            ("PEN".to_owned(), 1)
        ]
    );

    // A line bought in full goes, even when the user lowered it meanwhile; units
    // added after the checkout started stay.
    store::put_item(&db.pool, &Owner::new(A, USER), cart, "PEN", 4).await?;
    let saga = Uuid::now_v7();
    let command = clear(saga, cart, &[("MUG", 5), ("PEN", 1)]);
    let _: CartCleared = send(
        &db.pool,
        &handler,
        NAME,
        &in_tenant(A, Some(saga), &command),
    )
    .await?
    .expect();
    assert_eq!(lines(&db, A, cart).await?, [("PEN".to_owned(), 3)]);

    // A missing cart is fine and is not created.
    let missing = Uuid::now_v7();
    let saga = Uuid::now_v7();
    let command = clear(saga, missing, &[("MUG", 1)]);
    let cleared: CartCleared = send(
        &db.pool,
        &handler,
        NAME,
        &in_tenant(A, Some(saga), &command),
    )
    .await?
    .expect();
    assert_eq!(cleared.cart_id, missing);
    assert!(
        store::get_cart(&db.pool, &Owner::new(A, USER), missing)
            .await?
            .is_none()
    );
    Ok(())
}
