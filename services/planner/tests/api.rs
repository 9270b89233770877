//! The planner's API on a real database (no broker needed: commands stop in the
//! outbox): a plan runs and emits its first command with the caller's identity,
//! a dry run emits nothing, a large checkout waits for confirmation, plans are
//! private to their owner, and bad requests get clear errors.

use crate::common;

use axum::http::StatusCode;
use common::{MUG_PRICE, Planner, TENANT, USER};
use serde_json::{Value, json};

fn kinds(view: &Value) -> Vec<String> {
    view["log"]
        .as_array()
        .map(|log| {
            log.iter()
                .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_buy_plan_runs_and_emits_its_first_command_for_the_caller() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let (status, view) = planner.intent("Buy 2 of MUG", false).await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    let plan_id = view["plan_id"].as_str().expect("plan id").to_owned();
    assert_eq!(view["status"], "running");
    assert_eq!(view["shape"], "plan.buy");
    assert_eq!(view["intent"]["intent"]["intent"], "buy");
    assert_eq!(view["intent"]["parsed_by"]["provider"], "offline");
    assert_eq!(view["validation"]["ok"], true);
    // The catalogue price plus 25 % tax (PLANNER_TAX_RATE_BPS), rounded up.
    assert_eq!(view["validation"]["budget"]["net_minor"], 2 * MUG_PRICE);
    assert_eq!(view["validation"]["budget"]["tax_minor"], 625);
    assert_eq!(
        view["validation"]["budget"]["money_minor"],
        2 * MUG_PRICE + 625
    );
    assert_eq!(view["steps"][0]["name"], "add_to_cart");
    assert_eq!(view["steps"][0]["status"], "running");
    assert_eq!(
        view["steps"][1]["command"]["message_type"],
        "InitiateCheckout"
    );
    let checkout_id = view["steps"][1]["command"]["payload"]["checkout_id"]
        .as_str()
        .expect("checkout id")
        .to_owned();

    // Exactly one command so far, with the caller's tenant and the plan as its cause.
    let commands = planner.commands().await?;
    assert_eq!(commands.len(), 1, "{commands:#?}");
    let add = &commands[0];
    assert_eq!(
        (add.topic.as_str(), add.message_type.as_str()),
        ("cart.commands", "AddCartItem")
    );
    assert_eq!(add.header("tenant-id"), TENANT);
    assert_eq!(add.header("causation-id"), plan_id);
    assert_eq!(add.header("correlation-id"), plan_id);
    assert_eq!(add.header("saga-id"), plan_id);
    assert_eq!(
        add.header("traceparent").get(3..35),
        Some("4bf92f3577b34da6a3ce929d0e0e4736"),
        "the request's trace continues"
    );
    assert_eq!(add.payload["user_id"], USER);
    assert_eq!(add.payload["quantity"], 2);
    assert!(
        add.payload.get("unit_price_minor").is_none(),
        "no price on the wire"
    );
    // The checkout names exactly the line the plan adds, in the same cart, no price.
    let checkout = &view["steps"][1]["command"]["payload"];
    assert_eq!(checkout["items"], json!([{"sku": "MUG", "quantity": 2}]));
    assert_eq!(checkout["cart_id"], add.payload["cart_id"]);
    assert_eq!(checkout["shipping_country"], "DE");
    assert_ne!(add.payload["cart_id"], json!(uuid::Uuid::nil()));

    // The audit trail: in the log and on planner.events, in order.
    let log = kinds(&view);
    for kind in [
        "intent_parsed",
        "plan_drafted",
        "plan_validated",
        "plan_started",
        "started",
        "command_emitted",
    ] {
        assert!(
            log.contains(&kind.to_owned()),
            "{kind} missing from {log:?}"
        );
    }
    let audit: Vec<_> = planner
        .outbox()
        .await?
        .into_iter()
        .filter(|r| r.topic == "planner.events")
        .collect();
    assert_eq!(audit.len(), log.len());
    assert!(audit.iter().all(|r| r.header("tenant-id") == TENANT
        && r.payload["plan_id"] == plan_id.as_str()
        && r.payload["user_id"] == USER));
    let emitted = &view["emitted"][0];
    assert_eq!(emitted["message_type"], "AddCartItem");
    assert_eq!(emitted["topic"], "cart.commands");

    // The view links to the plan's own saga; the checkout is linked once requested.
    assert_eq!(view["sagas"][0]["saga_id"], plan_id.as_str());
    assert_eq!(view["sagas"][0]["path"], format!("/v1/sagas/{plan_id}"));
    assert_eq!(view["sagas"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        view["steps"][1]["starts_saga"]["saga_id"],
        checkout_id.as_str()
    );
    assert_eq!(view["steps"][1]["starts_saga"]["requested"], false);
    Ok(())
}

#[tokio::test]
async fn a_dry_run_emits_nothing_and_confirming_it_runs_what_was_shown() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let (status, view) = planner.intent("Add 3 of MUG to my cart", true).await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    assert_eq!(view["status"], "dry_run");
    assert_eq!(view["shape"], "plan.cart");
    let shown = view["would_emit"].clone();
    assert_eq!(shown[0]["topic"], "cart.commands");
    assert_eq!(shown[0]["message_type"], "AddCartItem");
    assert_eq!(shown[0]["payload"]["quantity"], 3);
    assert!(kinds(&view).contains(&"dry_run".to_owned()));
    assert!(
        planner.commands().await?.is_empty(),
        "a dry run emits nothing"
    );

    let id = view["plan_id"].as_str().expect("id");
    let (status, view) = planner
        .call(
            "POST",
            &format!("/v1/assistant/plans/{id}/confirm"),
            Some((TENANT, USER)),
            None,
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{view:#}");
    assert_eq!(view["status"], "running");
    let commands = planner.commands().await?;
    assert_eq!(commands.len(), 1);
    assert_eq!(
        commands[0].payload, shown[0]["payload"],
        "exactly what was shown"
    );
    assert!(kinds(&view).contains(&"plan_confirmed".to_owned()));
    Ok(())
}

#[tokio::test]
async fn a_checkout_above_the_threshold_waits_for_confirmation() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    // 10 × 12.50 = 125.00, 156.25 with tax > 100.00 (PLANNER_CONFIRM_ABOVE_MINOR),
    // within the 500.00 budget.
    let (status, view) = planner.intent("buy 10 MUG", false).await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    assert_eq!(view["status"], "awaiting_confirmation");
    assert_eq!(view["confirmation"]["required"], true);
    assert!(view["confirmation"]["expires_at"].is_string(), "{view:#}");
    assert!(
        view["confirmation"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("156.25 EUR (tax included)")),
        "{view:#}"
    );
    assert!(planner.commands().await?.is_empty());
    let id = view["plan_id"].as_str().expect("id").to_owned();
    let confirm = format!("/v1/assistant/plans/{id}/confirm");

    // Only its owner can confirm it.
    let (status, body) = planner
        .call("POST", &confirm, Some((TENANT, "mallory")), None)
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = planner
        .call("POST", &confirm, Some(("globex", USER)), None)
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(planner.commands().await?.is_empty());

    let (status, view) = planner
        .call("POST", &confirm, Some((TENANT, USER)), None)
        .await?;
    assert_eq!(status, StatusCode::OK, "{view:#}");
    assert_eq!(view["status"], "running");
    assert!(view["confirmation"]["confirmed_at"].is_string());
    assert_eq!(planner.commands().await?.len(), 1);

    // Confirming again changes nothing.
    let (status, again) = planner
        .call("POST", &confirm, Some((TENANT, USER)), None)
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["log"], view["log"]);
    assert_eq!(planner.commands().await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn plans_are_private_to_their_owner() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let (_, mine) = planner
        .intent("Notify me that the demo starts at 10", false)
        .await?;
    assert_eq!(mine["shape"], "plan.notify");
    let (_, theirs) = planner
        .intent_as(("globex", USER), "Buy 1 MUG", true)
        .await?;
    let mine_id = mine["plan_id"].as_str().expect("id");
    let theirs_id = theirs["plan_id"].as_str().expect("id");

    let (status, list) = planner
        .call("GET", "/v1/assistant/plans", Some((TENANT, USER)), None)
        .await?;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["plans"]
        .as_array()
        .expect("plans")
        .iter()
        .filter_map(|p| p["plan_id"].as_str())
        .collect();
    assert_eq!(ids, vec![mine_id]);
    assert_eq!(
        list["plans"][0]["path"],
        format!("/v1/assistant/plans/{mine_id}")
    );

    for (who, id) in [
        ((TENANT, USER), theirs_id),
        (("globex", USER), mine_id),
        ((TENANT, "eve"), mine_id),
    ] {
        let (status, _) = planner
            .call("GET", &format!("/v1/assistant/plans/{id}"), Some(who), None)
            .await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who:?} reading {id}");
    }
    let notify = &planner.commands().await?[0];
    assert_eq!(notify.message_type, "SendNotification");
    assert_eq!(notify.payload["recipient"], "ada@users.sagaflow.invalid");
    assert_eq!(notify.payload["body"], "the demo starts at 10");
    Ok(())
}

/// Method, URI, caller, body, expected status and error code.
type Case = (
    &'static str,
    String,
    Option<(&'static str, &'static str)>,
    Option<Value>,
    StatusCode,
    &'static str,
);

#[tokio::test]
async fn bad_requests_get_clear_errors() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/v1/assistant/intents".into(),
            Some((TENANT, USER)),
            Some(json!({"dry_run": true})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            "POST",
            "/v1/assistant/intents".into(),
            Some((TENANT, USER)),
            Some(json!([1])),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "GET",
            "/v1/assistant/plans/nope".into(),
            Some((TENANT, USER)),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "GET",
            format!("/v1/assistant/plans/{}", uuid::Uuid::now_v7()),
            Some((TENANT, USER)),
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "GET",
            "/v1/assistant/plans?limit=0".into(),
            Some((TENANT, USER)),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
    ];
    for (method, uri, who, body, status, code) in cases {
        let (got, json) = planner.call(method, &uri, who, body).await?;
        assert_eq!(
            (got, json["code"].as_str()),
            (status, Some(code)),
            "{method} {uri}: {json}"
        );
        assert!(json["detail"].is_string());
    }
    // Without the gateway's internal token (none, or a blank identity in it): 401.
    for (method, uri, who) in [
        ("POST", "/v1/assistant/intents", None),
        ("POST", "/v1/assistant/intents", Some((TENANT, " "))),
        ("GET", "/v1/assistant/plans", None),
    ] {
        let (got, json) = planner
            .call(method, uri, who, Some(json!({"text": "Buy 1 MUG"})))
            .await?;
        assert_eq!(got, StatusCode::UNAUTHORIZED, "{method} {uri}: {json}");
        assert_eq!(json["code"], "unauthenticated", "{json}");
    }
    // A rejected plan cannot be confirmed.
    let (status, rejected) = planner.intent("Buy 1 of NOPE-1", false).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let id = rejected["plan"]["plan_id"].as_str().expect("id");
    let (status, body) = planner
        .call(
            "POST",
            &format!("/v1/assistant/plans/{id}/confirm"),
            Some((TENANT, USER)),
            None,
        )
        .await?;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("plan_rejected"))
    );
    assert!(planner.commands().await?.is_empty());
    Ok(())
}
