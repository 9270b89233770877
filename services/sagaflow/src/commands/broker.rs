//! `sagaflow broker probe`: waits until the broker stores and serves a message
//! (a produce-and-consume round trip, [`sagaflow_bus::probe`]), not only until
//! its port is open. The bring-up scripts run it after starting the broker.

use std::time::{Duration, Instant};

use anyhow::bail;
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
    /// Produce a record to `sagaflow.probe` and read it back; retry until it works
    /// or `--wait-secs` pass (exit 1 then, with the last error).
    Probe {
        /// How long to keep trying.
        #[arg(long, default_value_t = 60)]
        wait_secs: u64,
        /// The limit of one attempt.
        #[arg(long, default_value_t = 10)]
        attempt_secs: u64,
    },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let Action::Probe {
        wait_secs,
        attempt_secs,
    } = args.action;
    let deadline = Instant::now() + Duration::from_secs(wait_secs);
    let attempt = Duration::from_secs(attempt_secs.max(1));
    loop {
        match sagaflow_bus::probe::round_trip(&args.kafka, attempt).await {
            Ok(took) => {
                println!(
                    "broker {} stores and serves messages (round trip {} ms)",
                    args.kafka.bootstrap_servers,
                    took.as_millis()
                );
                return Ok(());
            }
            Err(err) if Instant::now() >= deadline => bail!(
                "broker {} did not pass the produce-and-consume probe within {wait_secs} s: {err}",
                args.kafka.bootstrap_servers
            ),
            Err(err) => {
                eprintln!("broker probe failed, retrying: {err}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
