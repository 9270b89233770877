//! `sagaflow topics create|list`.

use sagaflow_bus::KafkaConfig;
use sagaflow_bus::dlq::REPLAYS_TOPIC;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub kafka: KafkaConfig,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Create every platform topic and its dead-letter topic, and the dead-letter
    /// replay marker topic (existing ones are kept).
    Create,
    /// Print the platform's topic names.
    List,
}

/// What `topics create` makes and `topics list` prints: every platform topic and
/// its dead-letter topic (`KAFKA_PARTITIONS` each), then [`REPLAYS_TOPIC`] (one
/// partition, as `sagaflow dlq replay` would create it).
pub fn names() -> Vec<String> {
    let mut topics = sagaflow_bus::admin::platform_topics();
    topics.push(REPLAYS_TOPIC.to_owned());
    topics
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if let Action::Create = args.action {
        let platform = sagaflow_bus::admin::platform_topics();
        sagaflow_bus::admin::ensure_topics(&args.kafka, &platform).await?;
        sagaflow_bus::dlq::replay::create_replays_topic(&args.kafka).await?;
    }
    for topic in names() {
        println!("{topic}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_marker_topic_is_listed_with_the_platform_topics() {
        let names = names();
        let platform = sagaflow_bus::admin::platform_topics();
        assert_eq!(names.len(), platform.len() + 1);
        assert!(platform.iter().all(|topic| names.contains(topic)));
        assert_eq!(
            names.last().map(String::as_str),
            Some("sagaflow.dlq.replays")
        );
    }
}
