//! `GET /asyncapi.json` serves the Kafka contracts' AsyncAPI document without a
//! token, and the names that document mirrors from the bus (the dead-letter
//! headers, the replay marker topic, the replayed-record header) are the bus's.

use crate::common;

use std::collections::BTreeSet;

use sagaflow_bus::dead_letter::headers as dlq;
use sagaflow_events::asyncapi::document;
use sagaflow_events::topics;

use common::Gateway;

#[tokio::test]
async fn the_asyncapi_document_is_served_without_a_token() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let served = gw.get_public_json("/asyncapi.json").await?;
    assert_eq!(served, document());
    assert_eq!(served["asyncapi"], "3.0.0");
    let checkout = &served["channels"][topics::ORCHESTRATOR_COMMANDS];
    assert_eq!(
        checkout["messages"]["InitiateCheckout"]["$ref"],
        "#/components/messages/InitiateCheckout"
    );
    assert!(
        served["channels"][topics::dead_letter(topics::ORCHESTRATOR_COMMANDS)].is_object(),
        "the dead-letter topic is a channel"
    );
    Ok(())
}

#[test]
fn the_names_mirrored_from_the_bus_are_the_bus_s() {
    let doc = document();
    let documented: BTreeSet<&str> =
        doc["components"]["schemas"]["DeadLetterHeaders"]["properties"]
            .as_object()
            .expect("dead-letter headers")
            .keys()
            .map(String::as_str)
            .collect();
    let bus: BTreeSet<&str> = [
        dlq::REASON,
        dlq::TOPIC,
        dlq::PARTITION,
        dlq::OFFSET,
        dlq::CONSUMER,
    ]
    .into();
    assert_eq!(documented, bus);

    assert_eq!(topics::DLQ_REPLAYS, sagaflow_bus::dlq::REPLAYS_TOPIC);
    assert!(doc["channels"][sagaflow_bus::dlq::REPLAYS_TOPIC].is_object());
    let text = doc.to_string();
    assert!(text.contains(&format!("`{}`", sagaflow_bus::dlq::REPLAYED_FROM)));

    // Every topic `sagaflow topics create` makes is a channel.
    for topic in sagaflow_bus::admin::platform_topics() {
        assert!(doc["channels"][&topic].is_object(), "{topic}");
    }
}
