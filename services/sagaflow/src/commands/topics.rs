//! `sagaflow topics create|list`.

use sagaflow_bus::KafkaConfig;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub kafka: KafkaConfig,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Create every platform topic and its dead-letter topic (existing ones are kept).
    Create,
    /// Print the platform's topic names.
    List,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let topics = sagaflow_bus::admin::platform_topics();
    if let Action::Create = args.action {
        sagaflow_bus::admin::ensure_topics(&args.kafka, &topics).await?;
    }
    for topic in &topics {
        println!("{topic}");
    }
    Ok(())
}
