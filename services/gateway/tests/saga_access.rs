//! Who may read a saga's log (`GET /v1/sagas/{id}/events`): its owner, and an
//! operator of its tenant. Another user of the same tenant, and the owner's very
//! user id in another tenant (operator or not), get 404, as for a saga that does
//! not exist. Covers the sagas the gateway started (checkouts, generations);
//! `started_elsewhere.rs` covers the assistant's.

use crate::common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sagaflow_gateway::auth::mint_hs256_with_roles;
use serde_json::json;
use uuid::Uuid;

use common::{Gateway, SECRET, TENANT, USER, feed_event, progress_of};

/// `GET uri` as `user` of `tenant` with `roles`.
async fn get_as(
    gw: &Gateway,
    tenant: &str,
    user: &str,
    roles: &[&str],
    uri: &str,
) -> anyhow::Result<(StatusCode, serde_json::Value)> {
    let token = mint_hs256_with_roles(
        SECRET,
        "sagaflow",
        "sagaflow-api",
        tenant,
        user,
        roles,
        Duration::from_secs(600),
    );
    gw.send(
        Request::get(uri)
            .header("Authorization", format!("Bearer {token}"))
            .body(Body::empty())?,
    )
    .await
}

#[tokio::test]
async fn a_saga_log_is_read_by_its_owner_and_operators_of_its_tenant_only() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let checkout = gw.checkout(TENANT, USER).await?;
    let generation = gw.generation(TENANT, USER).await?;
    for id in [checkout] {
        feed_event(
            &gw,
            TENANT,
            &progress_of(
                "checkout",
                id,
                1,
                "started",
                None,
                "running",
                json!({"customer_email": "ada@example.com"}),
            ),
        )
        .await?;
    }

    for id in [checkout, generation] {
        let uri = format!("/v1/sagas/{id}/events");
        let (status, body) = get_as(&gw, TENANT, USER, &[], &uri).await?;
        assert_eq!(status, StatusCode::OK, "owner {uri}: {body}");

        // Another user of the same tenant, with or without unrelated roles.
        for roles in [&[][..], &["auditor"][..]] {
            let (status, body) = get_as(&gw, TENANT, "user-2", roles, &uri).await?;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "user-2 {roles:?} {uri}: {body}"
            );
            assert_eq!(body["code"], "not_found", "{body}");
        }
        // The same user id in another tenant, even as that tenant's operator.
        for roles in [&[][..], &["operator"][..]] {
            let (status, _) = get_as(&gw, "tenant-b", USER, roles, &uri).await?;
            assert_eq!(status, StatusCode::NOT_FOUND, "tenant-b {roles:?} {uri}");
        }
        // An operator of the saga's tenant reads it.
        let (status, body) = get_as(&gw, TENANT, "ops", &["operator"], &uri).await?;
        assert_eq!(status, StatusCode::OK, "operator {uri}: {body}");
        assert_eq!(body["saga_id"], json!(id));
    }
    // What another user sees of an existing saga is what anyone sees of a missing one.
    let missing = format!("/v1/sagas/{}/events", Uuid::now_v7());
    let (_, absent) = get_as(&gw, TENANT, "user-2", &[], &missing).await?;
    let (_, hidden) = get_as(
        &gw,
        TENANT,
        "user-2",
        &[],
        &format!("/v1/sagas/{checkout}/events"),
    )
    .await?;
    assert_eq!(absent["code"], hidden["code"]);
    Ok(())
}
