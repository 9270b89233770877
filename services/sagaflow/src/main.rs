//! `sagaflow`: see `sagaflow --help` and the crate docs of `sagaflow` (lib.rs).

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = sagaflow::commands::Cli::parse();
    // Before the runtime: the trace exporter runs its own blocking thread.
    let _telemetry = cli.telemetry.install(&cli.command.service_name())?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(sagaflow::commands::run(cli.command))
}
