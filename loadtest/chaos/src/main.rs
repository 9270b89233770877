//! `sagaflow-chaos run ...`: see the library's docs and `loadtest/chaos/README.md`.
//! Exit code: 0 every invariant holds, 1 a violation, 2 the run failed.

// A command-line tool: it prints its report.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::Parser;
use sagaflow_chaos::config::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Run(args) = Cli::parse().command;
    match sagaflow_chaos::run(*args).await {
        Ok(report) => {
            print!("{}", report.render());
            if report.violations() == 0 {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::from(1)
            }
        }
        Err(err) => {
            eprintln!("sagaflow-chaos: {err}");
            std::process::ExitCode::from(2)
        }
    }
}
