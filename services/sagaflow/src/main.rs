//! `sagaflow`: see `sagaflow --help` and the crate docs of `sagaflow` (lib.rs).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = sagaflow::commands::Cli::parse();
    cli.telemetry.install()?;
    sagaflow::commands::run(cli.command).await
}
