//! `DELETE /v1/me` across the whole platform: the same user id in two tenants buys
//! and asks for a cover letter; one of them erases themselves while their letter
//! is still being written. Afterwards no table of any service (saga log, outboxes
//! and read models included) holds that user's e-mail address or CV text, even
//! once the late messages of the running generation have been handled, and the
//! other tenant's user keeps theirs. (Published outbox rows are pruned after
//! `OUTBOX_RETENTION_SECS`, 0 here.)

use crate::common;

use std::time::Duration;

use common::*;
use sagaflow::platform::Service;
use sagaflow_test_support::{Broker, eventually};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const OTHER_TENANT: &str = "globex";
const ERASED_EMAIL: &str = "ada.erased.7f3c@example.com";
const ERASED_CV: &str = "Ada Lovelace, CV-MARKER-erased-41d9, engineer of analytical engines";
const KEPT_EMAIL: &str = "ada.kept.9b1e@example.com";

/// Every row of every table of `pool` (text and JSON columns as text, binary
/// columns such as outbox payloads as bytes) that contains `needle`, as
/// `table.column` names.
async fn holders(pool: &PgPool, needle: &str) -> anyhow::Result<Vec<String>> {
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_schema::TEXT, table_name::TEXT, column_name::TEXT, data_type::TEXT
         FROM information_schema.columns
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
           AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea')",
    )
    .fetch_all(pool)
    .await?;
    let mut found = Vec::new();
    for (schema, table, column, kind) in columns {
        let test = if kind == "bytea" {
            format!("position(convert_to($1, 'UTF8') in \"{column}\") > 0")
        } else {
            format!("\"{column}\"::TEXT LIKE '%' || $1 || '%'")
        };
        let hits: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{schema}\".\"{table}\" WHERE {test}"
        ))
        .bind(needle)
        .fetch_one(pool)
        .await?;
        if hits > 0 {
            found.push(format!("{schema}.{table}.{column}"));
        }
    }
    Ok(found)
}

/// [`holders`] over every service's database, as `service: table.column`.
async fn everywhere(dbs: &Databases, needle: &str) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    for service in Service::ALL {
        for place in holders(dbs.pool(service), needle).await? {
            found.push(format!("{}: {place}", service.name()));
        }
    }
    Ok(found)
}

async fn post(platform: &Platform, auth: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
    let response = platform
        .http
        .post(format!("{}{path}", platform.gateway))
        .header("Authorization", auth)
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .json(body)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "{path} answered {status}: {body}");
    Ok(body)
}

fn checkout(email: &str) -> Value {
    json!({
        "cart_id": Uuid::now_v7(),
        "items": [{"sku": "MUG", "quantity": 1}],
        "currency": "EUR",
        "shipping_country": "DE",
        "payment_method": "card",
        "customer_email": email,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_a_user_leaves_nothing_of_theirs_and_everything_of_the_same_id_elsewhere()
-> anyhow::Result<()> {
    // Published outbox rows are pruned at once (3,600 s by default), so payloads
    // relayed after the erasure do not outlive it.
    let platform = Platform::start_tuned(
        Broker::mock()?,
        |_| {},
        |kafka| kafka.outbox_retention_secs = 0,
    )
    .await?;
    sagaflow_inventory::set_stock(platform.pool(Service::Inventory), "MUG", 10).await?;
    let erased = bearer_in(TENANT, USER);
    let kept = bearer_in(OTHER_TENANT, USER);

    // Both users buy a mug; the checkouts complete.
    let mine = post(&platform, &erased, "/v1/checkouts", &checkout(ERASED_EMAIL)).await?;
    let theirs = post(&platform, &kept, "/v1/checkouts", &checkout(KEPT_EMAIL)).await?;
    for view in [&mine, &theirs] {
        let id = view["checkout_id"].as_str().expect("id");
        eventually(
            "the checkout to complete",
            Duration::from_secs(60),
            || async {
                let status: Option<String> =
                    sqlx::query_scalar("SELECT status FROM checkouts WHERE checkout_id = $1::UUID")
                        .bind(id)
                        .fetch_optional(platform.pool(Service::Gateway))
                        .await?;
                Ok(status.as_deref() == Some("completed"))
            },
        )
        .await?;
    }
    // The user to be erased asks for a cover letter and erases themselves while
    // it is being written.
    let generation = post(
        &platform,
        &erased,
        "/v1/generations",
        &json!({
            "kind": "cover_letter",
            "cv_text": ERASED_CV,
            "job_description": "Rust engineer at Initech: Kafka, PostgreSQL, event-driven services.",
            "token_budget": 4000,
        }),
    )
    .await?;
    let generation_id: Uuid = generation["generation_id"]
        .as_str()
        .expect("generation id")
        .parse()?;
    let response = platform
        .http
        .delete(format!("{}/v1/me", platform.gateway))
        .header("Authorization", &erased)
        .send()
        .await?;
    assert_eq!(
        response.status().as_u16(),
        202,
        "{}",
        response.text().await?
    );

    // The generation saga ends (cancelled, or failed on the erased data), and
    // every service catches up with the erasure.
    eventually(
        "the generation saga to end",
        Duration::from_secs(90),
        || async {
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM sagas WHERE saga_id = $1")
                    .bind(generation_id)
                    .fetch_optional(platform.pool(Service::Orchestrator))
                    .await?;
            Ok(status.is_some_and(|s| TERMINAL.contains(&s.as_str())))
        },
    )
    .await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let mut left = everywhere(&platform.dbs, ERASED_EMAIL).await?;
        left.extend(everywhere(&platform.dbs, "CV-MARKER-erased").await?);
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still holding the erased user's data: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Late messages: once every outbox is drained, still nothing came back.
    eventually("every outbox to drain", Duration::from_secs(60), || async {
        for service in Service::ALL {
            let unsent: i64 =
                sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox WHERE sent_at IS NULL")
                    .fetch_one(platform.pool(service))
                    .await?;
            if unsent > 0 {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await?;
    assert_eq!(
        everywhere(&platform.dbs, ERASED_EMAIL).await?,
        Vec::<String>::new()
    );
    assert_eq!(
        everywhere(&platform.dbs, "CV-MARKER-erased").await?,
        Vec::<String>::new()
    );

    // The same user id in the other tenant keeps their checkout and address.
    let still = everywhere(&platform.dbs, KEPT_EMAIL).await?;
    assert!(
        still
            .iter()
            .any(|place| place.starts_with("gateway: public.checkouts")),
        "{still:?}"
    );
    let response = platform
        .http
        .get(format!(
            "{}/v1/checkouts/{}",
            platform.gateway,
            theirs["checkout_id"].as_str().expect("id")
        ))
        .header("Authorization", &kept)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    platform.stop().await
}
