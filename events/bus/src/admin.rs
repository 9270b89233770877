//! Explicit topic creation: the platform never relies on broker auto-create.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::config::KafkaConfig;
use crate::error::Error;

/// Every platform topic and its dead-letter topic.
pub fn platform_topics() -> Vec<String> {
    sagaflow_events::topics::all()
        .iter()
        .flat_map(|t| [t.to_string(), sagaflow_events::topics::dead_letter(t)])
        .collect()
}

/// Creates `topics` with the configured partitions and replication; topics that
/// already exist are left as they are.
pub async fn ensure_topics(kafka: &KafkaConfig, topics: &[String]) -> Result<(), Error> {
    let admin: AdminClient<DefaultClientContext> = kafka.admin().create()?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                kafka.partitions,
                TopicReplication::Fixed(kafka.replication_factor),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(Error::Topic {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    Ok(())
}
