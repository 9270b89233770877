//! Full runs of the real checkout definition through decide/evolve, with
//! the participants simulated.

use crate::common;

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use sagaflow_saga_checkout::definition;
use sagaflow_saga_engine::{
    Action, Definition, Input, Phase, SagaEvent, SagaState, Status, decide, evolve, replay,
};
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 9, 0, 0).single().unwrap()
}

/// The simulated participant reply to a command.
type Participant = fn(&str, &Value) -> (&'static str, Value);

struct Run {
    def: Definition,
    state: Option<SagaState>,
    events: Vec<SagaEvent>,
    sent: Vec<(&'static str, &'static str, Phase, Value)>,
}

impl Run {
    fn drive(participant: Participant) -> Run {
        let mut run = Run {
            def: definition(),
            state: None,
            events: Vec::new(),
            sent: Vec::new(),
        };
        let mut pending = vec![Input::Start {
            saga_id: SAGA,
            input: sample_input(),
        }];
        while let Some(input) = pending.pop() {
            let d = decide(&run.def, run.state.as_ref(), &input, now()).unwrap();
            for e in &d.events {
                run.state = Some(evolve(run.state.take(), e));
                run.events.push(e.clone());
            }
            for a in d.actions {
                if let Action::Send {
                    command_id,
                    message_type,
                    topic,
                    key,
                    payload,
                    phase,
                    ..
                } = a
                {
                    assert_eq!(key, SAGA, "partition key is the saga id");
                    let (reply, body) = participant(message_type, &payload);
                    run.sent.push((message_type, topic, phase, payload));
                    pending.push(Input::Reply {
                        message_type: reply.to_owned(),
                        payload: body,
                        causation_id: Some(command_id),
                    });
                }
            }
            assert!(run.events.len() < 100, "saga does not terminate");
        }
        assert_eq!(replay(&run.events), run.state);
        run
    }

    fn state(&self) -> &SagaState {
        self.state.as_ref().unwrap()
    }

    fn sent_types(&self) -> Vec<&'static str> {
        self.sent.iter().map(|s| s.0).collect()
    }
}

fn happy(message_type: &str, _payload: &Value) -> (&'static str, Value) {
    match message_type {
        "ReserveInventory" => ("InventoryReserved", json!({ "saga_id": SAGA })),
        "PriceOrder" => ("OrderPriced", order_priced()),
        "ProcessPayment" => ("PaymentProcessed", payment_processed()),
        "CreateOrder" => ("OrderCreated", order_created()),
        "ClearCart" => ("CartCleared", json!({ "saga_id": SAGA })),
        "SendNotification" => ("NotificationSent", json!({ "saga_id": SAGA })),
        "ReleaseInventory" => ("InventoryReleased", json!({ "saga_id": SAGA })),
        "CompensatePayment" => ("PaymentRefunded", json!({ "saga_id": SAGA })),
        other => panic!("unexpected command {other}"),
    }
}

fn payment_declined(message_type: &str, payload: &Value) -> (&'static str, Value) {
    match message_type {
        "ProcessPayment" => (
            "PaymentFailed",
            json!({ "saga_id": SAGA, "reason": "card declined" }),
        ),
        other => happy(other, payload),
    }
}

#[test]
fn happy_path_completes_the_checkout() {
    let run = Run::drive(happy);
    assert_eq!(
        run.sent_types(),
        [
            "ReserveInventory",
            "PriceOrder",
            "ProcessPayment",
            "CreateOrder",
            "ClearCart",
            "SendNotification"
        ]
    );
    let topics: Vec<_> = run.sent.iter().map(|s| s.1).collect();
    assert_eq!(
        topics,
        [
            "inventory.commands",
            "pricing.commands",
            "payment.commands",
            "order.commands",
            "cart.commands",
            "notifications"
        ]
    );
    // The payment charges the priced total; the order carries the payment id.
    assert_eq!(run.sent[2].3["amount_minor"], 3240);
    assert_eq!(run.sent[3].3["payment_id"], PAYMENT);
    assert!(run.sent[5].3["body"].as_str().unwrap().contains(ORDER));
    let s = run.state();
    assert_eq!(s.status, Status::Completed);
    assert_eq!(s.completed, [0, 1, 2, 3, 4, 5]);
    assert!(matches!(
        run.events.last(),
        Some(SagaEvent::Completed { .. })
    ));
}

#[test]
fn payment_declined_releases_inventory_and_ends_compensated() {
    let run = Run::drive(payment_declined);
    assert_eq!(
        run.sent_types(),
        [
            "ReserveInventory",
            "PriceOrder",
            "ProcessPayment",
            "ReleaseInventory"
        ]
    );
    assert_eq!(run.sent[3].2, Phase::Compensation);
    let s = run.state();
    assert_eq!(s.status, Status::Compensated);
    assert_eq!(s.completed, [0, 1]);
    assert_eq!(s.compensated, [0]);
    assert_eq!(s.failure.as_deref(), Some("PaymentFailed: card declined"));
}

#[test]
fn unpriceable_sku_releases_inventory_and_charges_nothing() {
    fn unknown_sku(message_type: &str, payload: &Value) -> (&'static str, Value) {
        match message_type {
            "PriceOrder" => (
                "OrderPricingFailed",
                json!({ "saga_id": SAGA, "reason": "unknown SKU SKU-2" }),
            ),
            other => happy(other, payload),
        }
    }
    let run = Run::drive(unknown_sku);
    assert_eq!(
        run.sent_types(),
        ["ReserveInventory", "PriceOrder", "ReleaseInventory"]
    );
    assert_eq!(run.sent[2].2, Phase::Compensation);
    let s = run.state();
    assert_eq!(s.status, Status::Compensated);
    assert_eq!(s.compensated, [0]);
    assert_eq!(
        s.failure.as_deref(),
        Some("OrderPricingFailed: unknown SKU SKU-2")
    );
}

#[test]
fn order_creation_failure_refunds_then_releases() {
    fn order_fails(message_type: &str, payload: &Value) -> (&'static str, Value) {
        match message_type {
            "CreateOrder" => ("OrderCreationFailed", json!({ "reason": "db down" })),
            other => happy(other, payload),
        }
    }
    let run = Run::drive(order_fails);
    assert_eq!(
        run.sent_types(),
        [
            "ReserveInventory",
            "PriceOrder",
            "ProcessPayment",
            "CreateOrder",
            "CompensatePayment",
            "ReleaseInventory"
        ]
    );
    assert_eq!(run.state().status, Status::Compensated);
    assert_eq!(run.state().compensated, [2, 0]);
}

#[test]
fn notification_failure_after_the_pivot_needs_an_operator() {
    fn notify_fails(message_type: &str, payload: &Value) -> (&'static str, Value) {
        match message_type {
            "SendNotification" => ("NotificationFailed", json!({ "reason": "bounced" })),
            other => happy(other, payload),
        }
    }
    let run = Run::drive(notify_fails);
    assert_eq!(run.state().status, Status::Failed);
    assert!(run.state().compensated.is_empty());
    assert!(!run.sent.iter().any(|s| s.2 == Phase::Compensation));
}

#[test]
fn payment_timeout_refunds_the_maybe_taken_payment_then_releases() {
    // The payment service is slow: every ProcessPayment attempt times out,
    // and its PaymentProcessed arrives only after the saga gave up.
    let def = definition();
    let mut state: Option<SagaState> = None;
    let mut events = Vec::new();
    let mut sent = Vec::new();
    let mut step = |input: Input| {
        let d = decide(&def, state.as_ref(), &input, now()).unwrap();
        for e in &d.events {
            state = Some(evolve(state.take(), e));
            events.push(e.clone());
        }
        for a in &d.actions {
            if let Action::Send {
                message_type,
                phase,
                ..
            } = a
            {
                sent.push((*message_type, *phase));
            }
        }
        (d, state.clone().unwrap())
    };
    let reply = |message_type: &str, payload: Value| Input::Reply {
        message_type: message_type.to_owned(),
        payload,
        causation_id: None,
    };
    step(Input::Start {
        saga_id: SAGA,
        input: sample_input(),
    });
    step(reply("InventoryReserved", json!({ "saga_id": SAGA })));
    let (_, mut s) = step(reply("OrderPriced", order_priced()));
    while s.status == Status::Running {
        let c = s.current.clone().expect("payment in flight");
        assert_eq!((c.step, c.phase), (2, Phase::Forward));
        s = step(Input::Timeout {
            step: c.step,
            phase: c.phase,
            attempt: c.attempt,
        })
        .1;
    }
    assert_eq!(s.status, Status::Compensating);
    assert_eq!(s.abandoned, [2]);
    // The late charge is ignored; the refund already covers it.
    let (d, _) = step(reply("PaymentProcessed", payment_processed()));
    assert!(d.is_empty());
    step(reply("PaymentRefunded", json!({ "saga_id": SAGA })));
    let (d, s) = step(reply("InventoryReleased", json!({ "saga_id": SAGA })));
    assert_eq!(
        d.actions.last(),
        Some(&Action::Finished {
            status: Status::Compensated
        })
    );
    assert_eq!(
        sent,
        [
            ("ReserveInventory", Phase::Forward),
            ("PriceOrder", Phase::Forward),
            ("ProcessPayment", Phase::Forward),
            ("ProcessPayment", Phase::Forward),
            ("ProcessPayment", Phase::Forward),
            ("CompensatePayment", Phase::Compensation),
            ("ReleaseInventory", Phase::Compensation),
        ]
    );
    assert_eq!(s.completed, [0, 1]);
    assert_eq!(s.compensated, [2, 0]);
    assert!(events.iter().any(|e| matches!(
        e,
        SagaEvent::StepAbandoned {
            step: 2,
            attempts: 3,
            ..
        }
    )));
    assert_eq!(replay(&events), Some(s));
}
