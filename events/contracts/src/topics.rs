//! Kafka topic names. Convention: `<owner>.commands` / `<owner>.events`;
//! dead letters go to `<topic>.dlq` (see [`dead_letter`]).

/// Commands to the saga orchestrator (saga starts).
pub const ORCHESTRATOR_COMMANDS: &str = "orchestrator.commands";
/// Saga progress published by the orchestrator.
pub const ORCHESTRATOR_EVENTS: &str = "orchestrator.events";
/// Commands to the inventory service.
pub const INVENTORY_COMMANDS: &str = "inventory.commands";
/// Events from the inventory service.
pub const INVENTORY_EVENTS: &str = "inventory.events";
/// Commands to the pricing service.
pub const PRICING_COMMANDS: &str = "pricing.commands";
/// Events from the pricing service.
pub const PRICING_EVENTS: &str = "pricing.events";
/// Commands to the payment service.
pub const PAYMENT_COMMANDS: &str = "payment.commands";
/// Events from the payment service.
pub const PAYMENT_EVENTS: &str = "payment.events";
/// Commands to the order service.
pub const ORDER_COMMANDS: &str = "order.commands";
/// Events from the order service.
pub const ORDER_EVENTS: &str = "order.events";
/// Commands to the cart service.
pub const CART_COMMANDS: &str = "cart.commands";
/// Events from the cart service.
pub const CART_EVENTS: &str = "cart.events";
/// Commands to the notification service.
pub const NOTIFICATIONS: &str = "notifications";
/// Events from the notification service.
pub const NOTIFICATION_EVENTS: &str = "notification.events";
/// Commands to the document generation workers.
pub const GENERATION_COMMANDS: &str = "generation.commands";
/// Events from the document generation workers.
pub const GENERATION_EVENTS: &str = "generation.events";
/// Commands to the job-application tracker.
pub const APPLICATIONS_COMMANDS: &str = "applications.commands";
/// Events from the job-application tracker (status changes, attachments).
pub const APPLICATIONS_EVENTS: &str = "applications.events";
/// The planner's audit trail: intents, plans, validations, confirmations.
pub const PLANNER_EVENTS: &str = "planner.events";
/// Product changes published by the catalogue service.
pub const CATALOG_EVENTS: &str = "catalog.events";
/// Requests the gateway publishes for every service (erasure).
pub const GATEWAY_EVENTS: &str = "gateway.events";

/// Markers of dead-letter replays (`sagaflow dlq replay`; JSON, for
/// operators, not a contract between services). Not in [`all`]: it has no
/// dead-letter topic of its own. `sagaflow_bus::dlq::REPLAYS_TOPIC` names
/// the same topic (the gateway's `asyncapi` test checks they agree).
pub const DLQ_REPLAYS: &str = "sagaflow.dlq.replays";

const ALL: &[&str] = &[
    ORCHESTRATOR_COMMANDS,
    ORCHESTRATOR_EVENTS,
    INVENTORY_COMMANDS,
    INVENTORY_EVENTS,
    PRICING_COMMANDS,
    PRICING_EVENTS,
    PAYMENT_COMMANDS,
    PAYMENT_EVENTS,
    ORDER_COMMANDS,
    ORDER_EVENTS,
    CART_COMMANDS,
    CART_EVENTS,
    NOTIFICATIONS,
    NOTIFICATION_EVENTS,
    GENERATION_COMMANDS,
    GENERATION_EVENTS,
    APPLICATIONS_COMMANDS,
    APPLICATIONS_EVENTS,
    PLANNER_EVENTS,
    CATALOG_EVENTS,
    GATEWAY_EVENTS,
];

/// Every topic (without dead-letter topics).
pub fn all() -> &'static [&'static str] {
    ALL
}

/// Dead-letter topic for `topic`: `<topic>.dlq`.
pub fn dead_letter(topic: &str) -> String {
    format!("{topic}.dlq")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_appends_suffix() {
        assert_eq!(dead_letter(PAYMENT_EVENTS), "payment.events.dlq");
    }

    #[test]
    fn all_is_unique_and_follows_convention() {
        let mut seen = std::collections::HashSet::new();
        for t in all() {
            assert!(seen.insert(t), "duplicate topic {t}");
            assert!(
                *t == NOTIFICATIONS || t.ends_with(".commands") || t.ends_with(".events"),
                "{t} breaks the naming convention"
            );
        }
        assert_eq!(all().len(), 21);
    }
}
