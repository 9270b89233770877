use crate::common;

use common::*;
use sagaflow_saga_checkout::build;
use sagaflow_saga_checkout::definition;
use sagaflow_saga_engine::{BuildError, Compensation};
use serde_json::json;
use uuid::Uuid;

#[test]
fn reserve_inventory_payload() {
    assert_eq!(
        build::reserve_inventory(&sample_data()).unwrap(),
        json!({
            "saga_id": SAGA,
            "items": [{ "sku": "SKU-1", "quantity": 2 }, { "sku": "SKU-2", "quantity": 1 }]
        })
    );
}

#[test]
fn release_inventory_payload() {
    let p = build::release_inventory(&sample_data()).unwrap();
    assert_eq!(
        p,
        json!({ "saga_id": SAGA, "reason": "checkout saga compensating" })
    );
}

#[test]
fn price_order_payload_names_lines_and_country_but_no_price() {
    assert_eq!(
        build::price_order(&sample_data()).unwrap(),
        json!({
            "saga_id": SAGA,
            "items": [
                { "sku": "SKU-1", "quantity": 2 },
                { "sku": "SKU-2", "quantity": 1 }
            ],
            "currency": "EUR",
            "discount_code": "WELCOME10",
            "shipping_country": "FR"
        })
    );
    let mut data = sample_data();
    data.input["discount_code"] = json!(null);
    data.input
        .as_object_mut()
        .unwrap()
        .remove("shipping_country");
    let payload = build::price_order(&data).unwrap();
    assert_eq!(payload["discount_code"], json!(null));
    assert_eq!(payload["shipping_country"], json!(null));
    // A price left in an (old or forged) input never reaches the pricing step.
    let mut data = sample_data();
    data.input["items"][0]["unit_price_minor"] = json!(1);
    assert_eq!(
        build::price_order(&data).unwrap()["items"][0],
        json!({ "sku": "SKU-1", "quantity": 2 })
    );
}

#[test]
fn process_payment_charges_the_priced_total() {
    assert_eq!(
        build::process_payment(&sample_data()).unwrap(),
        json!({
            "saga_id": SAGA,
            "customer_id": USER,
            "amount_minor": 3240,
            "currency": "EUR",
            "payment_method": "card"
        })
    );
}

#[test]
fn compensate_payment_payload() {
    let p = build::compensate_payment(&sample_data()).unwrap();
    assert_eq!(
        p,
        json!({ "saga_id": SAGA, "reason": "checkout saga compensating" })
    );
}

#[test]
fn create_order_takes_the_priced_lines() {
    assert_eq!(
        build::create_order(&sample_data()).unwrap(),
        json!({
            "saga_id": SAGA,
            "customer_id": USER,
            "items": [
                { "sku": "SKU-1", "quantity": 2, "unit_price_minor": 1250 },
                { "sku": "SKU-2", "quantity": 1, "unit_price_minor": 500 }
            ],
            "total_minor": 3240,
            "currency": "EUR",
            "payment_id": PAYMENT
        })
    );
    // The unit prices are the pricing service's, whatever the input says.
    let mut data = sample_data();
    data.input["items"][0]["unit_price_minor"] = json!(1);
    data.results.get_mut("price_order").unwrap()["lines"][0]["unit_price_minor"] = json!(1300);
    assert_eq!(
        build::create_order(&data).unwrap()["items"][0],
        json!({ "sku": "SKU-1", "quantity": 2, "unit_price_minor": 1300 })
    );
    // An OrderPriced without lines (v1) cannot create an order.
    let mut data = sample_data();
    data.results.get_mut("price_order").unwrap()["lines"] = json!([]);
    assert!(matches!(
        build::create_order(&data),
        Err(BuildError::InvalidResult { .. })
    ));
}

#[test]
fn clear_cart_payload_names_the_lines_bought() {
    assert_eq!(
        build::clear_cart(&sample_data()).unwrap(),
        json!({
            "saga_id": SAGA, "cart_id": CART, "user_id": USER,
            "items": [
                { "sku": "SKU-1", "quantity": 2 },
                { "sku": "SKU-2", "quantity": 1 }
            ]
        })
    );
}

#[test]
fn send_notification_payload_is_deterministic_and_mentions_the_order() {
    let p = build::send_notification(&sample_data()).unwrap();
    let id = Uuid::new_v5(&SAGA, b"notify");
    assert_eq!(p["notification_id"], json!(id));
    assert_eq!(build::notification_id(SAGA), id);
    assert_eq!(p["saga_id"], json!(SAGA));
    assert_eq!(p["channel"], "EMAIL");
    assert_eq!(p["recipient"], "ada@example.com");
    assert!(!p["subject"].as_str().unwrap().is_empty());
    assert!(p["body"].as_str().unwrap().contains(ORDER), "{p}");
    assert_eq!(p["user_id"], USER);
    assert_eq!(p.as_object().unwrap().len(), 7);
    assert_eq!(p, build::send_notification(&sample_data()).unwrap());
}

#[test]
fn definition_uses_these_builders() {
    let def = definition();
    let data = sample_data();
    let expected = [
        build::reserve_inventory(&data),
        build::price_order(&data),
        build::process_payment(&data),
        build::create_order(&data),
        build::clear_cart(&data),
        build::send_notification(&data),
    ];
    for (step, want) in def.steps.iter().zip(expected) {
        assert_eq!((step.command.build)(&data), want, "{}", step.name);
    }
    let Compensation::Command { command, .. } = &def.steps[2].compensation else {
        panic!("take_payment must be compensable");
    };
    assert_eq!((command.build)(&data), build::compensate_payment(&data));
}

#[test]
fn missing_or_bad_data_is_a_build_error() {
    let mut data = sample_data();
    data.results.remove("price_order");
    assert_eq!(
        build::process_payment(&data),
        Err(BuildError::MissingResult("price_order".into()))
    );
    let mut data = sample_data();
    data.input["items"] = json!("not a list");
    assert!(matches!(
        build::reserve_inventory(&data),
        Err(BuildError::InvalidInput(_))
    ));
    let mut data = sample_data();
    data.results.insert(
        "price_order".into(),
        json!({ "total_minor": 1, "currency": "USD" }),
    );
    assert!(matches!(
        build::process_payment(&data),
        Err(BuildError::InvalidResult { .. })
    ));
}
