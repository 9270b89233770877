//! `sagaflow relay`: only the outbox relay of one database (a sidecar, or a
//! crash-test subject).

use anyhow::Context;
use sagaflow_bus::{KafkaConfig, Relay};

use crate::commands::shutdown_on_signal;
use crate::platform;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The database whose `sagaflow_outbox` to publish.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        value_name = "DATABASE_URL"
    )]
    pub database_url: String,
    #[command(flatten)]
    pub kafka: KafkaConfig,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let pool = platform::connect(&args.database_url, 2).await?;
    sagaflow_bus::migrate::run(&pool, None)
        .await
        .context("outbox tables")?;
    Relay::new(pool, &args.kafka)?
        .run(shutdown_on_signal())
        .await?;
    Ok(())
}
