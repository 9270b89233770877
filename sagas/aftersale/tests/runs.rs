//! Full runs of the after-sale definitions through decide/evolve, with the
//! participants simulated by the contract types: each command is decoded into
//! its struct and answered with a reply struct, as the services do.

use std::collections::VecDeque;

use chrono::{DateTime, TimeZone, Utc};
use sagaflow_events::messages::*;
use sagaflow_saga_aftersale::{cancellation, names, refund};
use sagaflow_saga_engine::{Action, Definition, Input, Phase, SagaState, Status, decide, evolve};
use serde_json::{Value, json};
use uuid::Uuid;

const SAGA: Uuid = Uuid::from_u128(0xa5);
const ORDER: Uuid = Uuid::from_u128(0x0d);
const CHECKOUT: Uuid = Uuid::from_u128(0xc0);
const PAYMENT: Uuid = Uuid::from_u128(0x9a);
const PROVIDER_REFUND: Uuid = Uuid::from_u128(0xf0);

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).single().unwrap()
}

/// A participant: a command (type, payload) in, the reply out; `None` never answers.
type Participant<'a> = &'a mut dyn FnMut(&str, &Value) -> Option<(&'static str, Value)>;

struct Run {
    state: SagaState,
    sent: Vec<(&'static str, Phase, Value)>,
}

fn drive(def: &Definition, input: Value, participant: Participant) -> Run {
    let mut state: Option<SagaState> = None;
    let mut sent = Vec::new();
    let mut inputs = VecDeque::from([Input::Start {
        saga_id: SAGA,
        input,
    }]);
    let mut timers: Vec<(DateTime<Utc>, Input)> = Vec::new();
    let mut clock = now();
    for _ in 0..500 {
        let input = match inputs.pop_front() {
            Some(input) => input,
            None if state.as_ref().is_some_and(|s| s.status.is_terminal()) => break,
            None => {
                // Nothing answered: the earliest timer fires.
                timers.sort_by_key(|(at, _)| *at);
                if timers.is_empty() {
                    break;
                }
                let (at, input) = timers.remove(0);
                clock = clock.max(at);
                input
            }
        };
        let decision = decide(def, state.as_ref(), &input, clock).unwrap();
        for event in &decision.events {
            state = Some(evolve(state.take(), event));
        }
        for action in decision.actions {
            match action {
                Action::Send {
                    command_id,
                    message_type,
                    phase,
                    payload,
                    ..
                } => {
                    sent.push((message_type, phase, payload.clone()));
                    if let Some((reply, body)) = participant(message_type, &payload) {
                        inputs.push_back(Input::Reply {
                            message_type: reply.to_owned(),
                            payload: body,
                            causation_id: Some(command_id),
                        });
                    }
                }
                Action::ScheduleTimeout {
                    step,
                    phase,
                    attempt,
                    at,
                } => timers.push((
                    at,
                    Input::Timeout {
                        step,
                        phase,
                        attempt,
                    },
                )),
                Action::Finished { .. } => {}
            }
        }
    }
    Run {
        state: state.expect("started"),
        sent,
    }
}

fn decode<T: serde::de::DeserializeOwned>(payload: &Value) -> T {
    serde_json::from_value(payload.clone()).expect("the payload is the contract type")
}

fn reply<T: serde::Serialize + sagaflow_events::Contract>(
    message: T,
) -> Option<(&'static str, Value)> {
    Some((T::MESSAGE_TYPE, serde_json::to_value(message).unwrap()))
}

fn cancellation_input() -> Value {
    serde_json::to_value(InitiateOrderCancellation {
        cancellation_id: SAGA,
        order_id: ORDER,
        user_id: "user-1".into(),
        customer_email: "u1@example.test".into(),
        reason: "changed my mind".into(),
    })
    .unwrap()
}

fn refund_input() -> Value {
    serde_json::to_value(InitiateRefund {
        refund_id: SAGA,
        order_id: ORDER,
        user_id: "user-1".into(),
        customer_email: "u1@example.test".into(),
        lines: vec![OrderLine {
            sku: "SKU-1".into(),
            quantity: 1,
        }],
        reason: "arrived damaged".into(),
    })
    .unwrap()
}

/// The participants of a healthy platform; `refund_ok` says whether the payment
/// provider refunds, `payment_answers` whether the payment service answers at all.
fn platform(
    refund_ok: bool,
    payment_answers: bool,
) -> impl FnMut(&str, &Value) -> Option<(&'static str, Value)> {
    move |message_type, payload| match message_type {
        "CancelPlacedOrder" => {
            let c: CancelPlacedOrder = decode(payload);
            assert_eq!((c.order_id, c.customer_id.as_str()), (ORDER, "user-1"));
            reply(PlacedOrderCancelled {
                saga_id: c.saga_id,
                order_id: c.order_id,
                checkout_saga_id: CHECKOUT,
                payment_id: PAYMENT,
                refund_minor: 3993,
                currency: "EUR".into(),
                items: vec![CheckoutItem {
                    sku: "SKU-1".into(),
                    quantity: 2,
                    unit_price_minor: 1999,
                }],
            })
        }
        "ReserveRefund" => {
            let c: ReserveRefund = decode(payload);
            assert_eq!(c.lines.len(), 1);
            reply(RefundReserved {
                saga_id: c.saga_id,
                order_id: c.order_id,
                payment_id: PAYMENT,
                amount_minor: 1999,
                currency: "EUR".into(),
                items: vec![CheckoutItem {
                    sku: "SKU-1".into(),
                    quantity: 1,
                    unit_price_minor: 1999,
                }],
            })
        }
        "RefundPayment" if !payment_answers => None,
        "RefundPayment" => {
            let c: RefundPayment = decode(payload);
            if refund_ok {
                reply(PaymentRefundIssued {
                    saga_id: c.saga_id,
                    payment_id: c.payment_id,
                    refund_id: PROVIDER_REFUND,
                    amount_minor: c.amount_minor,
                    currency: c.currency,
                })
            } else {
                reply(PaymentRefundFailed {
                    saga_id: c.saga_id,
                    reason: "card account closed".into(),
                })
            }
        }
        "RestockOrder" => {
            let c: RestockOrder = decode(payload);
            assert_eq!(c.checkout_saga_id, CHECKOUT);
            reply(InventoryRestocked {
                saga_id: c.saga_id,
                items: vec![StockItem {
                    sku: "SKU-1".into(),
                    quantity: 2,
                }],
            })
        }
        "ConfirmRefund" => {
            let c: ConfirmRefund = decode(payload);
            reply(RefundConfirmed {
                saga_id: c.saga_id,
                order_id: ORDER,
            })
        }
        "ReinstateOrder" => reply(OrderReinstated {
            saga_id: decode::<ReinstateOrder>(payload).saga_id,
        }),
        "ReleaseRefund" => reply(RefundReleased {
            saga_id: decode::<ReleaseRefund>(payload).saga_id,
        }),
        "SendNotification" => {
            let c: SendNotification = decode(payload);
            reply(NotificationSent {
                notification_id: c.notification_id,
                saga_id: c.saga_id,
                channel: c.channel,
            })
        }
        other => panic!("unexpected command {other}"),
    }
}

fn types(run: &Run) -> Vec<(&'static str, Phase)> {
    run.sent.iter().map(|(t, p, _)| (*t, *p)).collect()
}

#[test]
fn a_cancellation_refunds_what_is_left_restocks_the_checkout_and_notifies() {
    let def = cancellation::definition();
    let run = drive(&def, cancellation_input(), &mut platform(true, true));
    assert_eq!(run.state.status, Status::Completed);
    assert_eq!(
        types(&run),
        [
            ("CancelPlacedOrder", Phase::Forward),
            ("RefundPayment", Phase::Forward),
            ("RestockOrder", Phase::Forward),
            ("SendNotification", Phase::Forward),
        ]
    );
    let refund: RefundPayment = decode(&run.sent[1].2);
    assert_eq!(
        (
            refund.payment_id,
            refund.amount_minor,
            refund.currency.as_str()
        ),
        (PAYMENT, 3993, "EUR")
    );
    let mail: SendNotification = decode(&run.sent[3].2);
    assert_eq!(mail.recipient, "u1@example.test");
    assert!(mail.body.contains("39.93 EUR"), "{}", mail.body);
    assert_eq!(
        def.result_of(&run.state.data),
        Some((names::RESULT_REFUND_ID, PROVIDER_REFUND))
    );
    assert_eq!(def.user_of(&run.state.data).as_deref(), Some("user-1"));
}

#[test]
fn a_refused_refund_reinstates_the_order() {
    let run = drive(
        &cancellation::definition(),
        cancellation_input(),
        &mut platform(false, true),
    );
    assert_eq!(run.state.status, Status::Compensated);
    assert_eq!(
        types(&run),
        [
            ("CancelPlacedOrder", Phase::Forward),
            ("RefundPayment", Phase::Forward),
            ("ReinstateOrder", Phase::Compensation),
        ]
    );
    assert!(
        run.state
            .failure
            .as_deref()
            .unwrap_or("")
            .contains("card account closed"),
        "{:?}",
        run.state.failure
    );
}

#[test]
fn a_refused_cancellation_sends_nothing_else() {
    let mut participant = |message_type: &str, payload: &Value| {
        assert_eq!(message_type, "CancelPlacedOrder");
        let c: CancelPlacedOrder = decode(payload);
        reply(OrderCancellationRefused {
            saga_id: c.saga_id,
            order_id: c.order_id,
            reason: "order is already cancelled".into(),
        })
    };
    let run = drive(
        &cancellation::definition(),
        cancellation_input(),
        &mut participant,
    );
    assert_eq!(run.state.status, Status::Compensated);
    assert_eq!(types(&run), [("CancelPlacedOrder", Phase::Forward)]);
    assert!(run.state.failure.unwrap().contains("already cancelled"));
}

#[test]
fn a_refund_whose_outcome_is_unknown_stops_for_an_operator_and_undoes_nothing() {
    // The money may have moved: reinstating the order could leave it both
    // refunded and live.
    let def = cancellation::definition_with_timeout(std::time::Duration::from_millis(50));
    let run = drive(&def, cancellation_input(), &mut platform(true, false));
    assert_eq!(run.state.status, Status::Failed);
    let sent = types(&run);
    assert!(
        !sent.iter().any(|(t, _)| *t == "ReinstateOrder"),
        "{sent:?}"
    );
    assert_eq!(
        sent.iter().filter(|(t, _)| *t == "RefundPayment").count(),
        3,
        "every attempt of the policy"
    );
}

#[test]
fn a_partial_refund_reserves_refunds_confirms_and_notifies() {
    let def = refund::definition();
    let run = drive(&def, refund_input(), &mut platform(true, true));
    assert_eq!(run.state.status, Status::Completed);
    assert_eq!(
        types(&run),
        [
            ("ReserveRefund", Phase::Forward),
            ("RefundPayment", Phase::Forward),
            ("ConfirmRefund", Phase::Forward),
            ("SendNotification", Phase::Forward),
        ]
    );
    let reserve: ReserveRefund = decode(&run.sent[0].2);
    assert_eq!(
        reserve.lines,
        vec![OrderLine {
            sku: "SKU-1".into(),
            quantity: 1
        }]
    );
    let refund: RefundPayment = decode(&run.sent[1].2);
    assert_eq!((refund.amount_minor, refund.payment_id), (1999, PAYMENT));
    let mail: SendNotification = decode(&run.sent[3].2);
    assert!(
        mail.body.contains("19.99 EUR for 1 x SKU-1"),
        "{}",
        mail.body
    );
    assert_eq!(
        def.result_of(&run.state.data),
        Some((names::RESULT_REFUND_ID, PROVIDER_REFUND))
    );
}

#[test]
fn a_refused_partial_refund_releases_the_reserved_lines() {
    let run = drive(
        &refund::definition(),
        refund_input(),
        &mut platform(false, true),
    );
    assert_eq!(run.state.status, Status::Compensated);
    assert_eq!(
        types(&run),
        [
            ("ReserveRefund", Phase::Forward),
            ("RefundPayment", Phase::Forward),
            ("ReleaseRefund", Phase::Compensation),
        ]
    );
}

#[test]
fn the_notification_id_is_stable_per_saga() {
    let a = drive(
        &refund::definition(),
        refund_input(),
        &mut platform(true, true),
    );
    let b = drive(
        &refund::definition(),
        refund_input(),
        &mut platform(true, true),
    );
    let id = |run: &Run| decode::<SendNotification>(&run.sent[3].2).notification_id;
    assert_eq!(id(&a), id(&b));
    assert_eq!(
        json!(id(&a)),
        json!(sagaflow_saga_aftersale::notify::notification_id(SAGA))
    );
}
