//! `applications.commands` through the real inbox transaction and PostgreSQL:
//! attach (idempotent, refused for another owner), detach (only what its attach
//! added), the tombstone, and poison.

use crate::common;

use common::{Reply, incoming, send};
use sagaflow_applications::application::ApplicationFields;
use sagaflow_applications::handler::DETACHED;
use sagaflow_applications::status::Status;
use sagaflow_applications::store::{self, Origin, Owner};
use sagaflow_applications::{ApplicationsHandler, NAME};
use sagaflow_events::messages::{
    AttachDocumentToApplication, DetachDocumentFromApplication, DocumentAttachFailed,
    DocumentAttached, DocumentDetached,
};
use sagaflow_test_support::TestDb;
use uuid::Uuid;

/// The tenant `sagaflow_bus::testing::incoming` puts on the envelope.
const ENVELOPE_TENANT: &str = "tenant-a";

async fn application(db: &TestDb, tenant: &str, user: &str) -> anyhow::Result<Uuid> {
    let owner = Owner {
        tenant_id: tenant.into(),
        user_id: user.into(),
    };
    let fields = ApplicationFields {
        company: "Acme".into(),
        role: "Dev".into(),
        ..Default::default()
    };
    let app =
        store::applications::create(&db.pool, &owner, fields, Status::Saved, &Origin::default())
            .await?;
    Ok(app.id)
}

fn attach(
    saga: Uuid,
    tenant: Option<&str>,
    user: &str,
    app: Uuid,
    generation: Uuid,
) -> sagaflow_bus::Incoming {
    incoming(
        Some(saga),
        &AttachDocumentToApplication {
            saga_id: saga,
            tenant_id: tenant.map(str::to_owned),
            user_id: user.into(),
            application_id: app,
            generation_id: generation,
        },
    )
}

fn detach(saga: Uuid, app: Uuid, generation: Uuid) -> sagaflow_bus::Incoming {
    incoming(
        Some(saga),
        &DetachDocumentFromApplication {
            saga_id: saga,
            tenant_id: None,
            user_id: "alice".into(),
            application_id: app,
            generation_id: generation,
            reason: "plan cancelled".into(),
        },
    )
}

async fn go(db: &TestDb, message: &sagaflow_bus::Incoming) -> anyhow::Result<Reply> {
    Ok(send(&db.pool, &ApplicationsHandler, NAME, message).await?)
}

/// (generation id, saga id) of the application's documents.
async fn links(db: &TestDb, app: Uuid) -> anyhow::Result<Vec<(Uuid, Option<Uuid>)>> {
    Ok(sqlx::query_as(
        "SELECT generation_id, saga_id FROM application_documents WHERE application_id = $1 ORDER BY attached_at",
    )
    .bind(app)
    .fetch_all(&db.pool)
    .await?)
}

#[tokio::test]
async fn attach_links_the_document_once() -> anyhow::Result<()> {
    let db = common::db().await?;
    let app = application(&db, ENVELOPE_TENANT, "alice").await?;
    let (saga, generation) = (Uuid::now_v7(), Uuid::now_v7());
    let done: DocumentAttached = go(&db, &attach(saga, None, "alice", app, generation))
        .await?
        .expect();
    assert_eq!(
        done,
        DocumentAttached {
            saga_id: saga,
            application_id: app,
            generation_id: generation
        }
    );
    // A redelivery with a new message id: same reply, still one link.
    let again: DocumentAttached = go(&db, &attach(saga, None, "alice", app, generation))
        .await?
        .expect();
    assert_eq!(again, done);
    assert_eq!(links(&db, app).await?, [(generation, Some(saga))]);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM document_commands")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(rows, 1);
    Ok(())
}

#[tokio::test]
async fn the_command_tenant_wins_and_another_owner_is_refused() -> anyhow::Result<()> {
    let db = common::db().await?;
    let app = application(&db, "acme", "alice").await?;
    let generation = Uuid::now_v7();
    let ok: DocumentAttached = go(
        &db,
        &attach(Uuid::now_v7(), Some("acme"), "alice", app, generation),
    )
    .await?
    .expect();
    assert_eq!(ok.application_id, app);

    let saga = Uuid::now_v7();
    let refused: DocumentAttachFailed =
        go(&db, &attach(saga, Some("acme"), "bob", app, Uuid::now_v7()))
            .await?
            .expect();
    assert_eq!(
        refused.reason,
        format!("application {app} not found for user bob in tenant acme")
    );
    let again: DocumentAttachFailed =
        go(&db, &attach(saga, Some("acme"), "bob", app, Uuid::now_v7()))
            .await?
            .expect();
    assert_eq!(
        again.reason, refused.reason,
        "a repeat gets the same answer"
    );
    // The envelope's tenant is used when the command names none: not Alice's tenant.
    let wrong_tenant: DocumentAttachFailed = go(
        &db,
        &attach(Uuid::now_v7(), None, "alice", app, Uuid::now_v7()),
    )
    .await?
    .expect();
    assert!(
        wrong_tenant.reason.ends_with("in tenant tenant-a"),
        "{}",
        wrong_tenant.reason
    );
    assert_eq!(links(&db, app).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn detach_removes_only_what_its_attach_added() -> anyhow::Result<()> {
    let db = common::db().await?;
    let app = application(&db, ENVELOPE_TENANT, "alice").await?;
    let owner = Owner {
        tenant_id: ENVELOPE_TENANT.into(),
        user_id: "alice".into(),
    };
    // G1 attached by the user first; a saga attaching it too does not own it.
    let g1 = Uuid::now_v7();
    store::documents::attach(&db.pool, &owner, app, g1).await?;
    let s1 = Uuid::now_v7();
    let _: DocumentAttached = go(&db, &attach(s1, None, "alice", app, g1)).await?.expect();
    let _: DocumentDetached = go(&db, &detach(s1, app, g1)).await?.expect();
    assert_eq!(
        links(&db, app).await?,
        [(g1, None)],
        "the user's link stays"
    );

    // G2 attached by a saga: its detach removes it, twice is fine, a late attach is refused.
    let (s2, g2) = (Uuid::now_v7(), Uuid::now_v7());
    let _: DocumentAttached = go(&db, &attach(s2, None, "alice", app, g2)).await?.expect();
    assert_eq!(links(&db, app).await?.len(), 2);
    let detached: DocumentDetached = go(&db, &detach(s2, app, g2)).await?.expect();
    assert_eq!(
        detached,
        DocumentDetached {
            saga_id: s2,
            application_id: app,
            generation_id: g2
        }
    );
    let _: DocumentDetached = go(&db, &detach(s2, app, g2)).await?.expect();
    assert_eq!(links(&db, app).await?, [(g1, None)]);
    let late: DocumentAttachFailed = go(&db, &attach(s2, None, "alice", app, g2)).await?.expect();
    assert_eq!(late.reason, DETACHED);
    Ok(())
}

#[tokio::test]
async fn detach_first_leaves_a_tombstone() -> anyhow::Result<()> {
    let db = common::db().await?;
    let app = application(&db, ENVELOPE_TENANT, "alice").await?;
    let (saga, generation) = (Uuid::now_v7(), Uuid::now_v7());
    let _: DocumentDetached = go(&db, &detach(saga, app, generation)).await?.expect();
    let late: DocumentAttachFailed = go(&db, &attach(saga, None, "alice", app, generation))
        .await?
        .expect();
    assert_eq!(late.reason, DETACHED);
    assert!(links(&db, app).await?.is_empty());
    let status: String =
        sqlx::query_scalar("SELECT status FROM document_commands WHERE saga_id = $1")
            .bind(saga)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(status, "detached");

    // A refused attach stays refused (with its reason) after its compensation.
    let refused_saga = Uuid::now_v7();
    let missing = Uuid::now_v7();
    let refused: DocumentAttachFailed = go(
        &db,
        &attach(refused_saga, None, "alice", missing, generation),
    )
    .await?
    .expect();
    let _: DocumentDetached = go(&db, &detach(refused_saga, missing, generation))
        .await?
        .expect();
    let again: DocumentAttachFailed = go(
        &db,
        &attach(refused_saga, None, "alice", missing, generation),
    )
    .await?
    .expect();
    assert_eq!(again.reason, refused.reason);
    Ok(())
}

#[tokio::test]
async fn an_unexpected_message_type_is_poison() -> anyhow::Result<()> {
    let db = common::db().await?;
    let saga = Uuid::now_v7();
    let wrong = incoming(
        Some(saga),
        &DocumentAttached {
            saga_id: saga,
            application_id: Uuid::now_v7(),
            generation_id: Uuid::now_v7(),
        },
    );
    let err = go(&db, &wrong).await.expect_err("poison");
    assert!(
        err.to_string()
            .contains("applications does not handle DocumentAttached"),
        "{err}"
    );
    Ok(())
}
