//! `AddCartItem` / `RemoveCartItem` through the inbox: a step and its
//! compensation, idempotent by saga id, with a tombstone when the removal comes first.

use crate::common;

use common::{in_tenant, incoming, send};
use sagaflow_cart::saga_items::CANCELLED;
use sagaflow_cart::{CartHandler, NAME, Owner};
use sagaflow_events::messages::{
    AddCartItem, CartItemAddFailed, CartItemAdded, CartItemRemoved, RemoveCartItem,
};
use sagaflow_test_support::TestDb;
use uuid::Uuid;

async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("cart_saga").await?;
    sagaflow_cart::migrate(&db.pool).await?;
    Ok(db)
}

fn add(saga: Uuid, cart: Uuid, user: &str, sku: &str, quantity: i32) -> AddCartItem {
    AddCartItem {
        saga_id: saga,
        cart_id: cart,
        user_id: user.into(),
        sku: sku.into(),
        quantity,
    }
}

fn remove(saga: Uuid, cart: Uuid, user: &str, sku: &str) -> RemoveCartItem {
    RemoveCartItem {
        saga_id: saga,
        cart_id: cart,
        user_id: user.into(),
        sku: sku.into(),
        reason: "plan compensating".into(),
    }
}

async fn line(db: &TestDb, cart: Uuid, sku: &str) -> anyhow::Result<Option<i32>> {
    line_in(db, "tenant-a", cart, sku).await
}

async fn line_in(db: &TestDb, tenant: &str, cart: Uuid, sku: &str) -> anyhow::Result<Option<i32>> {
    Ok(
        sagaflow_cart::store::get_cart(&db.pool, &Owner::new(tenant, "ada"), cart)
            .await?
            .and_then(|c| c.items.into_iter().find(|i| i.sku == sku))
            .map(|i| i.quantity),
    )
}

#[tokio::test]
async fn add_then_remove_restores_the_line_and_repeats_answer_the_same() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = CartHandler::default();
    let cart = Uuid::now_v7();
    // The user already had one unit of the SKU.
    sagaflow_cart::store::put_item(&db.pool, &Owner::new("tenant-a", "ada"), cart, "MUG", 1)
        .await?;

    let saga = Uuid::now_v7();
    for _ in 0..2 {
        // A repeat (a re-sent command has a new message id) adds nothing more.
        let message = incoming(Some(saga), &add(saga, cart, "ada", "MUG", 2));
        let added: CartItemAdded = send(&db.pool, &handler, NAME, &message).await?.expect();
        assert_eq!((added.quantity_added, added.line_quantity), (2, 3));
    }
    assert_eq!(line(&db, cart, "MUG").await?, Some(3));

    for _ in 0..2 {
        let message = incoming(Some(saga), &remove(saga, cart, "ada", "MUG"));
        let removed: CartItemRemoved = send(&db.pool, &handler, NAME, &message).await?.expect();
        assert_eq!((removed.saga_id, removed.quantity_removed), (saga, 2));
    }
    assert_eq!(
        line(&db, cart, "MUG").await?,
        Some(1),
        "the user's own unit stays"
    );

    // A line the saga created alone disappears when taken back.
    let saga = Uuid::now_v7();
    let message = incoming(Some(saga), &add(saga, cart, "ada", "PEN", 4));
    let _: CartItemAdded = send(&db.pool, &handler, NAME, &message).await?.expect();
    let message = incoming(Some(saga), &remove(saga, cart, "ada", "PEN"));
    let _: CartItemRemoved = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert_eq!(line(&db, cart, "PEN").await?, None);
    Ok(())
}

#[tokio::test]
async fn refusals_change_nothing_and_a_removal_first_leaves_a_tombstone() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = CartHandler::default();
    let cart = Uuid::now_v7();
    sagaflow_cart::store::put_item(&db.pool, &Owner::new("tenant-a", "ada"), cart, "MUG", 1)
        .await?;

    // The same user id in another tenant: its own cart, A's line untouched; and
    // its compensation takes back only what it added there.
    let saga = Uuid::now_v7();
    let message = in_tenant("tenant-b", Some(saga), &add(saga, cart, "ada", "MUG", 5));
    let added: CartItemAdded = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert_eq!(added.line_quantity, 5);
    assert_eq!(line(&db, cart, "MUG").await?, Some(1));
    let message = in_tenant("tenant-b", Some(saga), &remove(saga, cart, "ada", "MUG"));
    let removed: CartItemRemoved = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert_eq!(removed.quantity_removed, 5);
    assert_eq!(line_in(&db, "tenant-b", cart, "MUG").await?, None);
    assert_eq!(line(&db, cart, "MUG").await?, Some(1));
    // A saga id of tenant B means nothing in tenant A.
    let message = incoming(Some(saga), &remove(saga, cart, "ada", "MUG"));
    let removed: CartItemRemoved = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert_eq!(removed.quantity_removed, 0);
    assert_eq!(line(&db, cart, "MUG").await?, Some(1));

    // Invalid lines.
    for bad in [
        add(Uuid::now_v7(), cart, "ada", "MUG", 0),
        add(Uuid::now_v7(), cart, "ada", "", 1),
        add(Uuid::now_v7(), cart, "ada", "MUG", 10_000),
    ] {
        let message = incoming(Some(bad.saga_id), &bad);
        let failed: CartItemAddFailed = send(&db.pool, &handler, NAME, &message).await?.expect();
        assert!(!failed.reason.is_empty());
    }
    assert_eq!(line(&db, cart, "MUG").await?, Some(1));

    // The compensation overtakes the step: the late step is refused.
    let saga = Uuid::now_v7();
    let message = incoming(Some(saga), &remove(saga, cart, "ada", "MUG"));
    let removed: CartItemRemoved = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert_eq!(removed.quantity_removed, 0);
    let message = incoming(Some(saga), &add(saga, cart, "ada", "MUG", 2));
    let failed: CartItemAddFailed = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert_eq!(failed.reason, CANCELLED);
    assert_eq!(line(&db, cart, "MUG").await?, Some(1));
    Ok(())
}
