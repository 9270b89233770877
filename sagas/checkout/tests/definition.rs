use crate::common;

use std::path::PathBuf;

use sagaflow_saga_checkout::{definition, definition_with_timeout};
use sagaflow_saga_engine::{Compensation, check, mermaid};

#[test]
fn checkout_definition_passes_check() {
    assert_eq!(check(&definition()), Ok(()));
    assert_eq!(
        check(&definition_with_timeout(std::time::Duration::from_millis(
            50
        ))),
        Ok(())
    );
}

#[test]
fn checkout_definition_shape() {
    let def = definition();
    assert_eq!((def.name, def.version), ("checkout", 1));
    let names: Vec<_> = def.steps.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "reserve_inventory",
            "price_order",
            "take_payment",
            "create_order",
            "clear_cart",
            "notify"
        ]
    );
    assert_eq!(def.pivot(), Some(3));
    assert!(matches!(
        def.steps[1].compensation,
        Compensation::NotNeeded { .. }
    ));
    let undo: Vec<_> = (0..6)
        .filter_map(|i| {
            def.compensation_of(i)
                .map(|(c, done)| (i, c.message_type, c.topic, done))
        })
        .collect();
    assert_eq!(
        undo,
        [
            (
                0,
                "ReleaseInventory",
                "inventory.commands",
                &["InventoryReleased"][..]
            ),
            (
                2,
                "CompensatePayment",
                "payment.commands",
                &["PaymentRefunded"][..]
            ),
        ]
    );
    let wire: Vec<_> = def
        .steps
        .iter()
        .map(|s| {
            (
                s.command.message_type,
                s.command.topic,
                s.completes_on,
                s.fails_on,
            )
        })
        .collect();
    assert_eq!(
        wire,
        [
            (
                "ReserveInventory",
                "inventory.commands",
                &["InventoryReserved"][..],
                &["InventoryReservationFailed"][..]
            ),
            (
                "PriceOrder",
                "pricing.commands",
                &["OrderPriced"][..],
                &["OrderPricingFailed"][..]
            ),
            (
                "ProcessPayment",
                "payment.commands",
                &["PaymentProcessed"][..],
                &["PaymentFailed"][..]
            ),
            (
                "CreateOrder",
                "order.commands",
                &["OrderCreated"][..],
                &["OrderCreationFailed"][..]
            ),
            ("ClearCart", "cart.commands", &["CartCleared"][..], &[][..]),
            (
                "SendNotification",
                "notifications",
                &["NotificationSent"][..],
                &["NotificationFailed"][..]
            ),
        ]
    );
    for s in &def.steps {
        assert_eq!(s.timeout, std::time::Duration::from_secs(30));
        assert_eq!(s.retry.max_attempts, 3);
    }
    assert_eq!(def.compensation_retry.max_attempts, 5);
}

/// The committed diagram must match the definition.
/// Regenerate with `UPDATE_DIAGRAMS=1 cargo test -p sagaflow-saga-checkout`.
#[test]
fn committed_diagram_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/sagas/checkout.mmd");
    let expected = mermaid(&definition());
    if std::env::var_os("UPDATE_DIAGRAMS").is_some() {
        std::fs::write(&path, &expected).expect("write diagram");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "{} is out of date with the checkout definition; regenerate it with \
         `UPDATE_DIAGRAMS=1 cargo test -p sagaflow-saga-checkout` and commit it.\n--- expected ---\n{expected}",
        path.display()
    );
}

#[test]
fn the_result_is_the_order_once_create_order_completed() {
    use sagaflow_saga_checkout::steps::{CREATE_ORDER, RESULT_ORDER_ID};
    let def = definition();
    let mut data = common::sample_data();
    let order = uuid::Uuid::parse_str(common::ORDER).unwrap();
    assert_eq!(def.result_of(&data), Some((RESULT_ORDER_ID, order)));
    assert_eq!(def.user_of(&data).as_deref(), Some(common::USER));
    data.results.remove(CREATE_ORDER);
    assert_eq!(def.result_of(&data), None);
}

/// Every command and reply of every shipped version is a message type of the
/// contracts catalogue, and every command goes to its contract's topic.
#[test]
fn every_wire_type_of_every_version_is_a_known_contract() {
    for def in sagaflow_saga_checkout::VERSIONS.build(None) {
        for (i, step) in def.steps.iter().enumerate() {
            let mut commands = vec![&step.command];
            let mut replies: Vec<&str> = step
                .completes_on
                .iter()
                .chain(step.fails_on)
                .copied()
                .collect();
            if let Some((command, done)) = def.compensation_of(i) {
                commands.push(command);
                replies.extend(done.iter().copied());
            }
            for command in commands {
                assert_eq!(
                    sagaflow_events::topic_of(command.message_type),
                    Some(command.topic),
                    "v{}: {}",
                    def.version,
                    command.message_type
                );
            }
            for reply in replies {
                assert!(
                    sagaflow_events::topic_of(reply).is_some(),
                    "v{}: {reply} is not a contract",
                    def.version
                );
            }
        }
    }
}

/// Every payload the builders make encodes with its command's current schema.
#[test]
fn every_payload_encodes_with_its_schema() {
    let def = definition();
    let data = common::sample_data();
    for (i, step) in def.steps.iter().enumerate() {
        let mut commands = vec![&step.command];
        if let Some((command, _)) = def.compensation_of(i) {
            commands.push(command);
        }
        for command in commands {
            let payload = (command.build)(&data).unwrap();
            if let Err(err) = sagaflow_events::encode_json(command.message_type, &payload) {
                panic!("{} does not encode: {err}\n{payload}", command.message_type);
            }
        }
    }
}
