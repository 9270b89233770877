//! `UserErasureRequested` through the erasure consumer's inbox, with the same user
//! id in two tenants: tenant A's erasure removes A's carts, lines and saga records
//! and nothing of tenant B's; a late `AddCartItem` of a saga started before the
//! erasure is refused and stores nothing; a saga started after it works.

use crate::common;

use common::{in_tenant, send};
use sagaflow_bus::{Backoff, Outcome, inbox};
use sagaflow_cart::erasure::{self, ERASED, ErasureHandler};
use sagaflow_cart::{CartHandler, NAME, Owner, store};
use sagaflow_events::messages::{
    AddCartItem, CartCleared, CartItemAddFailed, CartItemAdded, CartItemRemoved, ClearCart,
    OrderLine, RemoveCartItem, UserErasureRequested,
};
use sagaflow_test_support::TestDb;
use uuid::Uuid;

const A: &str = "tenant-a";
const B: &str = "tenant-b";
const USER: &str = "ada";

fn add(saga: Uuid, cart: Uuid, quantity: i32) -> AddCartItem {
    AddCartItem {
        saga_id: saga,
        cart_id: cart,
        user_id: USER.into(),
        sku: "MUG".into(),
        quantity,
    }
}

/// Rows of (tenant, USER) in every cart table.
async fn rows(db: &TestDb, tenant: &str) -> anyhow::Result<i64> {
    let mut total = 0;
    for table in ["carts", "cart_items", "cart_saga_items", "cart_clears"] {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1 AND user_id = $2"
        ))
        .bind(tenant)
        .bind(USER)
        .fetch_one(&db.pool)
        .await?;
        total += n;
    }
    Ok(total)
}

async fn erase(db: &TestDb, tenant: &str) -> anyhow::Result<()> {
    let request = UserErasureRequested {
        erasure_id: Uuid::now_v7(),
        user_id: USER.into(),
        requested_at_ms: chrono::Utc::now().timestamp_millis(),
    };
    let message = in_tenant(tenant, None, &request);
    let outcome = inbox::process(
        &db.pool,
        &ErasureHandler,
        erasure::CONSUMER,
        &message,
        Backoff::default(),
    )
    .await;
    assert_eq!(outcome, Outcome::Handled);
    Ok(())
}

#[tokio::test]
async fn erasing_in_one_tenant_removes_its_carts_only_and_refuses_late_commands()
-> anyhow::Result<()> {
    let db = TestDb::create("cart_erase").await?;
    sagaflow_cart::migrate(&db.pool).await?;
    let handler = CartHandler::default();
    let cart = Uuid::now_v7();
    // Both tenants: a line by hand, one by a saga, a checkout's clear.
    let mut late = Vec::new();
    for tenant in [A, B] {
        store::put_item(&db.pool, &Owner::new(tenant, USER), cart, "PEN", 2).await?;
        let saga = Uuid::now_v7();
        let _: CartItemAdded = send(
            &db.pool,
            &handler,
            NAME,
            &in_tenant(tenant, Some(saga), &add(saga, cart, 1)),
        )
        .await?
        .expect();
        let clear = ClearCart {
            saga_id: saga,
            cart_id: cart,
            user_id: USER.into(),
            items: vec![OrderLine {
                sku: "PEN".into(),
                quantity: 1,
            }],
        };
        let _: CartCleared = send(
            &db.pool,
            &handler,
            NAME,
            &in_tenant(tenant, Some(saga), &clear),
        )
        .await?
        .expect();
        late.push(Uuid::now_v7());
    }
    let before_b = rows(&db, B).await?;
    assert_eq!(rows(&db, A).await?, before_b);
    assert!(before_b >= 5, "{before_b}");

    erase(&db, A).await?;
    assert_eq!(rows(&db, A).await?, 0, "tenant A's user is gone");
    assert_eq!(
        rows(&db, B).await?,
        before_b,
        "tenant B's same user id is intact"
    );
    let b_cart = store::get_cart(&db.pool, &Owner::new(B, USER), cart).await?;
    assert_eq!(b_cart.map(|c| c.items.len()), Some(2));
    let tombstone: String =
        sqlx::query_scalar("SELECT subject FROM cart_erasures WHERE tenant_id = $1")
            .bind(A)
            .fetch_one(&db.pool)
            .await?;
    assert!(
        tombstone.len() == 64 && tombstone.bytes().all(|b| b.is_ascii_hexdigit()),
        "the tombstone names the user by a hash: {tombstone}"
    );
    // A repeated erasure is harmless.
    erase(&db, A).await?;

    // Late messages of a saga started before the erasure store nothing.
    let saga = late[0];
    let failed: CartItemAddFailed = send(
        &db.pool,
        &handler,
        NAME,
        &in_tenant(A, Some(saga), &add(saga, cart, 3)),
    )
    .await?
    .expect();
    assert_eq!(failed.reason, ERASED);
    let remove = RemoveCartItem {
        saga_id: saga,
        cart_id: cart,
        user_id: USER.into(),
        sku: "MUG".into(),
        reason: "compensating".into(),
    };
    let removed: CartItemRemoved =
        send(&db.pool, &handler, NAME, &in_tenant(A, Some(saga), &remove))
            .await?
            .expect();
    assert_eq!(removed.quantity_removed, 0);
    let clear = ClearCart {
        saga_id: saga,
        cart_id: cart,
        user_id: USER.into(),
        items: vec![OrderLine {
            sku: "MUG".into(),
            quantity: 1,
        }],
    };
    let _: CartCleared = send(&db.pool, &handler, NAME, &in_tenant(A, Some(saga), &clear))
        .await?
        .expect();
    assert_eq!(rows(&db, A).await?, 0, "nothing came back");

    // The same late saga in tenant B works: its user was not erased.
    let saga = late[1];
    let _: CartItemAdded = send(
        &db.pool,
        &handler,
        NAME,
        &in_tenant(B, Some(saga), &add(saga, cart, 3)),
    )
    .await?
    .expect();

    // A saga the user starts after the erasure is theirs again.
    let saga = Uuid::now_v7();
    let added: CartItemAdded = send(
        &db.pool,
        &handler,
        NAME,
        &in_tenant(A, Some(saga), &add(saga, cart, 1)),
    )
    .await?
    .expect();
    assert_eq!(added.line_quantity, 1);
    Ok(())
}
