//! The body of `POST /v1/checkouts`, checked field by field so that every
//! rejection names the field (`items[2].quantity`). Syntax errors and a body that
//! is not a JSON object are 400; a missing, mistyped or out-of-range field is 422.
//! Unknown fields are ignored, except prices: a price field anywhere in the body
//! ([`PRICE_FIELDS`], e.g. `items[0].unit_price_minor`) is a 422 saying that prices
//! come from the catalogue, so a client that still sends one learns it is not used.
//!
//! A checkout names what to buy in one of two ways: `items` (`{sku, quantity}`
//! lines), or no `items` at all, in which case the lines of the cart `cart_id` are
//! bought (see `routes::cart_lines`). `shipping_country` (ISO
//! 3166-1 alpha-2) is required: it selects the tax rate.

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::ApiError;

/// Bounds of the request.
pub mod limits {
    pub const MAX_ITEMS: usize = 100;
    pub const MAX_SKU_CHARS: usize = 64;
    pub const MAX_QUANTITY: i64 = 1_000;
    pub const MAX_PAYMENT_METHOD_CHARS: usize = 64;
    pub const MAX_EMAIL_CHARS: usize = 254;
    pub const MAX_DISCOUNT_CODE_CHARS: usize = 64;
}

/// Field names that carry a price or an amount; none is accepted anywhere in the
/// body (compared case-insensitively).
pub const PRICE_FIELDS: &[&str] = &[
    "unit_price_minor",
    "unit_price",
    "price",
    "price_minor",
    "prices",
    "amount",
    "amount_minor",
    "total",
    "total_minor",
    "subtotal",
    "subtotal_minor",
];

/// The message of the 422 for a price in the body.
pub const PRICE_REFUSED: &str =
    "prices are not accepted: they come from the catalogue; send only sku and quantity";

/// One line to buy. The price is the catalogue's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Item {
    pub sku: String,
    pub quantity: i32,
}

/// A valid checkout request. Its JSON form is the normalised request the
/// idempotency fingerprint is computed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckoutRequest {
    pub cart_id: Uuid,
    /// `{sku, quantity}` lines; omit (or null) to buy the lines of the cart
    /// `cart_id`, read from the cart service when the checkout starts.
    pub items: Option<Vec<Item>>,
    /// ISO 4217 code; every line must have a catalogue price in it.
    pub currency: String,
    /// ISO 3166-1 alpha-2 code of the shipping address (selects the tax rate).
    pub shipping_country: String,
    pub payment_method: String,
    pub customer_email: String,
    pub discount_code: Option<String>,
}

impl CheckoutRequest {
    /// Parses and validates a raw body.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        Self::from_object(&priceless_object(body)?)
    }

    fn from_object(object: &Map<String, Value>) -> Result<Self, ApiError> {
        let cart_id = uuid_field(object, "cart_id")?;
        let items = match object.get("items") {
            None | Some(Value::Null) => None,
            Some(_) => Some(items(object)?),
        };
        let currency = currency(object)?;
        let shipping_country = country(object)?;
        let payment_method = text(
            required(object, "payment_method")?,
            "payment_method",
            limits::MAX_PAYMENT_METHOD_CHARS,
        )?;
        let customer_email = email(object)?;
        let discount_code = match object.get("discount_code") {
            None | Some(Value::Null) => None,
            Some(value) => Some(text(
                value,
                "discount_code",
                limits::MAX_DISCOUNT_CODE_CHARS,
            )?),
        };
        Ok(Self {
            cart_id,
            items,
            currency,
            shipping_country,
            payment_method,
            customer_email,
            discount_code,
        })
    }
}

/// A body as a JSON object that names no price anywhere (a price field is 422:
/// prices come from the server).
pub(crate) fn priceless_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|err| ApiError::MalformedJson(err.to_string()))?;
    let Value::Object(object) = value else {
        return Err(ApiError::MalformedJson("expected a JSON object".to_owned()));
    };
    if let Some(field) = price_field(&object, "") {
        return Err(ApiError::validation(field, PRICE_REFUSED));
    }
    Ok(object)
}

/// The path (`items[0].unit_price_minor`) of the first price field in `object`,
/// searched through nested objects and arrays.
pub(crate) fn price_field(object: &Map<String, Value>, prefix: &str) -> Option<String> {
    for (key, value) in object {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if PRICE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(key)) {
            return Some(path);
        }
        if let Some(found) = price_in(value, &path) {
            return Some(found);
        }
    }
    None
}

fn price_in(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Object(inner) => price_field(inner, path),
        Value::Array(values) => values
            .iter()
            .enumerate()
            .find_map(|(i, v)| price_in(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

pub(crate) fn required<'a>(
    object: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a Value, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Err(ApiError::validation(field, "is required")),
        Some(value) => Ok(value),
    }
}

/// A string of 1..=`max` characters without control characters.
pub(crate) fn text(value: &Value, field: &str, max: usize) -> Result<String, ApiError> {
    let Value::String(s) = value else {
        return Err(ApiError::validation(field, "must be a string"));
    };
    let chars = s.chars().count();
    if chars == 0 || chars > max {
        return Err(ApiError::validation(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    if s.trim().is_empty() {
        return Err(ApiError::validation(field, "must not be blank"));
    }
    if s.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.clone())
}

/// An integer in `min..=max`.
pub(crate) fn integer(value: &Value, field: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    match value.as_i64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::validation(
            field,
            format!("must be between {min} and {max}"),
        )),
        None if value.is_number() => Err(ApiError::validation(
            field,
            format!("must be a whole number between {min} and {max}"),
        )),
        None => Err(ApiError::validation(field, "must be an integer")),
    }
}

fn uuid_field(object: &Map<String, Value>, field: &str) -> Result<Uuid, ApiError> {
    required(object, field)?
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| ApiError::validation(field, "must be a UUID string"))
}

fn items(object: &Map<String, Value>) -> Result<Vec<Item>, ApiError> {
    lines(object, "items")
}

/// The `{sku, quantity}` lines in the array `array` of `object` (1 to
/// [`limits::MAX_ITEMS`]), each field checked and named (`lines[2].quantity`).
pub(crate) fn lines(object: &Map<String, Value>, array: &str) -> Result<Vec<Item>, ApiError> {
    let Value::Array(values) = required(object, array)? else {
        return Err(ApiError::validation(array, "must be an array"));
    };
    if values.is_empty() || values.len() > limits::MAX_ITEMS {
        return Err(ApiError::validation(
            array,
            format!("must hold 1 to {} lines", limits::MAX_ITEMS),
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, value)| item(array, i, value))
        .collect()
}

fn item(array: &str, index: usize, value: &Value) -> Result<Item, ApiError> {
    let field = |name: &str| format!("{array}[{index}].{name}");
    let Value::Object(object) = value else {
        return Err(ApiError::validation(
            format!("{array}[{index}]"),
            "must be an object",
        ));
    };
    let get = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Err(ApiError::validation(field(name), "is required")),
        Some(value) => Ok(value),
    };
    let sku = text(get("sku")?, &field("sku"), limits::MAX_SKU_CHARS)?;
    let quantity = integer(
        get("quantity")?,
        &field("quantity"),
        1,
        limits::MAX_QUANTITY,
    )?;
    let quantity = i32::try_from(quantity)
        .map_err(|_| ApiError::validation(field("quantity"), "is out of range"))?;
    Ok(Item { sku, quantity })
}

fn currency(object: &Map<String, Value>) -> Result<String, ApiError> {
    match required(object, "currency")?.as_str() {
        Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
            Ok(code.to_owned())
        }
        _ => Err(ApiError::validation(
            "currency",
            "must be an ISO 4217 code of 3 uppercase letters",
        )),
    }
}

fn country(object: &Map<String, Value>) -> Result<String, ApiError> {
    match required(object, "shipping_country")?.as_str() {
        Some(code) if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
            Ok(code.to_owned())
        }
        _ => Err(ApiError::validation(
            "shipping_country",
            "must be an ISO 3166-1 alpha-2 code of 2 uppercase letters",
        )),
    }
}

fn email(object: &Map<String, Value>) -> Result<String, ApiError> {
    let email = text(
        required(object, "customer_email")?,
        "customer_email",
        limits::MAX_EMAIL_CHARS,
    )?;
    let well_formed = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(char::is_whitespace);
    if !well_formed {
        return Err(ApiError::validation(
            "customer_email",
            "must be an e-mail address",
        ));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "cart_id": "0191d2a8-6a4e-7b6b-9a57-3c1d2e3f4a5b",
            "items": [{"sku": "SKU-1", "quantity": 2}],
            "currency": "EUR",
            "shipping_country": "DE",
            "payment_method": "card",
            "customer_email": "a@example.com"
        })
    }

    type Mutation = Box<dyn Fn(&mut Value)>;

    fn field_of(body: Value) -> String {
        match CheckoutRequest::parse(body.to_string().as_bytes()) {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn valid_request_parses() {
        let request = CheckoutRequest::parse(valid().to_string().as_bytes()).expect("valid");
        assert_eq!(request.items.as_ref().map(|i| i[0].quantity), Some(2));
        assert_eq!(request.shipping_country, "DE");
        assert_eq!(request.discount_code, None);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(&str, Mutation)> = vec![
            ("cart_id", Box::new(|v| v["cart_id"] = json!("nope"))),
            (
                "cart_id",
                Box::new(|v| {
                    v.as_object_mut().map(|o| o.remove("cart_id"));
                }),
            ),
            ("items", Box::new(|v| v["items"] = json!([]))),
            (
                "items",
                Box::new(|v| v["items"] = json!(vec![json!({"sku":"a","quantity":1}); 101])),
            ),
            (
                "items[0].quantity",
                Box::new(|v| v["items"][0]["quantity"] = json!(0)),
            ),
            (
                "items[0].quantity",
                Box::new(|v| v["items"][0]["quantity"] = json!(1001)),
            ),
            (
                "items[0].quantity",
                Box::new(|v| v["items"][0]["quantity"] = json!(1.5)),
            ),
            ("items", Box::new(|v| v["items"] = json!("SKU-1"))),
            (
                "shipping_country",
                Box::new(|v| {
                    v.as_object_mut().map(|o| o.remove("shipping_country"));
                }),
            ),
            (
                "shipping_country",
                Box::new(|v| v["shipping_country"] = json!("de")),
            ),
            (
                "shipping_country",
                Box::new(|v| v["shipping_country"] = json!("DEU")),
            ),
            (
                "items[0].sku",
                Box::new(|v| v["items"][0]["sku"] = json!("x".repeat(65))),
            ),
            (
                "items[0].sku",
                Box::new(|v| v["items"][0]["sku"] = json!("")),
            ),
            ("currency", Box::new(|v| v["currency"] = json!("eur"))),
            ("currency", Box::new(|v| v["currency"] = json!("EURO"))),
            (
                "payment_method",
                Box::new(|v| v["payment_method"] = json!(7)),
            ),
            (
                "customer_email",
                Box::new(|v| v["customer_email"] = json!("nobody")),
            ),
            (
                "customer_email",
                Box::new(|v| v["customer_email"] = json!(format!("{}@x.io", "a".repeat(250)))),
            ),
            (
                "discount_code",
                Box::new(|v| v["discount_code"] = json!("")),
            ),
        ];
        for (expected, mutate) in cases {
            let mut body = valid();
            mutate(&mut body);
            assert_eq!(field_of(body.clone()), expected, "{body}");
        }
    }

    #[test]
    fn syntax_errors_and_non_objects_are_malformed() {
        for body in [&b"{"[..], b"[]", b"42", b""] {
            assert!(matches!(
                CheckoutRequest::parse(body),
                Err(ApiError::MalformedJson(_))
            ));
        }
    }

    #[test]
    fn bounds_are_inclusive() {
        let mut body = valid();
        body["items"][0]["quantity"] = json!(1000);
        body["discount_code"] = json!("SUMMER");
        let request = CheckoutRequest::parse(body.to_string().as_bytes()).expect("valid");
        assert_eq!(request.discount_code.as_deref(), Some("SUMMER"));
    }

    #[test]
    fn a_price_anywhere_is_refused_with_its_path() {
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "items[0].unit_price_minor",
                Box::new(|v| v["items"][0]["unit_price_minor"] = json!(1)),
            ),
            (
                "items[0].Price",
                Box::new(|v| v["items"][0]["Price"] = json!("0.01")),
            ),
            ("total", Box::new(|v| v["total"] = json!(1))),
            (
                "meta.lines[1].amount_minor",
                Box::new(|v| v["meta"] = json!({"lines": [{}, {"amount_minor": 5}]})),
            ),
        ];
        for (expected, mutate) in cases {
            let mut body = valid();
            mutate(&mut body);
            match CheckoutRequest::parse(body.to_string().as_bytes()) {
                Err(ApiError::Validation { field, message }) => {
                    assert_eq!(field, expected, "{body}");
                    assert!(message.contains("catalogue"), "{message}");
                }
                other => panic!("{body}: expected a validation error, got {other:?}"),
            }
        }
    }

    #[test]
    fn without_items_the_cart_is_checked_out() {
        let mut body = valid();
        body.as_object_mut().map(|o| o.remove("items"));
        let request = CheckoutRequest::parse(body.to_string().as_bytes()).expect("valid");
        assert_eq!(request.items, None);
        body["items"] = Value::Null;
        let request = CheckoutRequest::parse(body.to_string().as_bytes()).expect("valid");
        assert_eq!(request.items, None);
    }
}
