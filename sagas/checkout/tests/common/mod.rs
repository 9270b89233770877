#![allow(dead_code)]

use std::collections::BTreeMap;

use sagaflow_saga_engine::SagaData;
use serde_json::{Value, json};
use uuid::Uuid;

pub const SAGA: Uuid = Uuid::from_u128(0x1111);
pub const USER: &str = "00000000-0000-0000-0000-00000000aaaa";
pub const CART: &str = "00000000-0000-0000-0000-00000000cccc";
pub const PAYMENT: &str = "00000000-0000-0000-0000-00000000bbbb";
pub const ORDER: &str = "00000000-0000-0000-0000-00000000dddd";

pub fn sample_input() -> Value {
    json!({
        "checkout_id": "00000000-0000-0000-0000-000000000c0c",
        "user_id": USER,
        "cart_id": CART,
        "items": [
            { "sku": "SKU-1", "quantity": 2 },
            { "sku": "SKU-2", "quantity": 1 }
        ],
        "currency": "EUR",
        "payment_method": "card",
        "customer_email": "ada@example.com",
        "discount_code": "WELCOME10",
        "shipping_country": "FR"
    })
}

pub fn order_priced() -> Value {
    json!({
        "saga_id": SAGA, "subtotal_minor": 3000, "discount_minor": 300,
        "tax_minor": 540, "total_minor": 3240, "currency": "EUR",
        "lines": [
            { "sku": "SKU-1", "quantity": 2, "unit_price_minor": 1250 },
            { "sku": "SKU-2", "quantity": 1, "unit_price_minor": 500 }
        ]
    })
}

pub fn payment_processed() -> Value {
    json!({ "saga_id": SAGA, "payment_id": PAYMENT, "amount_minor": 3240, "currency": "EUR" })
}

pub fn order_created() -> Value {
    json!({ "saga_id": SAGA, "order_id": ORDER })
}

/// Saga data with the results of every step that ran before the pivot+1.
pub fn sample_data() -> SagaData {
    let mut results = BTreeMap::new();
    results.insert("reserve_inventory".to_owned(), json!({ "saga_id": SAGA }));
    results.insert("price_order".to_owned(), order_priced());
    results.insert("take_payment".to_owned(), payment_processed());
    results.insert("create_order".to_owned(), order_created());
    SagaData {
        saga_id: SAGA,
        input: sample_input(),
        results,
    }
}
