//! `sagaflow topics create`.

use sagaflow_bus::KafkaConfig;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub kafka: KafkaConfig,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let topics = sagaflow_bus::admin::platform_topics();
    sagaflow_bus::admin::ensure_topics(&args.kafka, &topics).await?;
    for topic in &topics {
        println!("{topic}");
    }
    Ok(())
}
