//! The CLI: one subcommand per file.

// Commands print their results: that is their job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod broker;
pub mod demo;
pub mod dlq;
pub mod events;
pub mod migrate;
pub mod orders;
pub mod relay;
pub mod saga;
pub mod schemas;
pub mod serve;
pub mod stock;
pub mod token;
pub mod topics;

use tokio_util::sync::CancellationToken;

/// How a command prints its answer.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// For people: a table, or a line per item.
    Table,
    /// For programs: JSON.
    Json,
}

use crate::telemetry::Telemetry;

/// Sagaflow: event-sourced sagas on Kafka.
#[derive(clap::Parser, Debug)]
#[command(name = "sagaflow", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub telemetry: Telemetry,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Run a service (or `all` of them in this process) until SIGINT/SIGTERM.
    Serve(Box<serve::Args>),
    /// Create (or list) the platform's topics, their dead-letter topics and the
    /// dead-letter replay marker topic.
    Topics(topics::Args),
    /// Apply a service's database migrations.
    Migrate(migrate::Args),
    /// Run only an outbox relay for one database.
    Relay(relay::Args),
    /// Operate sagas through the orchestrator's API.
    Saga(saga::Args),
    /// List a tenant's orders with their refunds (the order service's operator API).
    Orders(orders::Args),
    /// Set stock levels in the inventory database.
    Stock(stock::Args),
    /// Run checkouts through the gateway and show what happened.
    Demo(demo::Args),
    /// Print a development bearer token for the gateway.
    Token(token::Args),
    /// Check that the broker stores and serves messages.
    Broker(broker::Args),
    /// Inspect, replay and purge dead letters (`<topic>.dlq`).
    Dlq(dlq::Args),
    /// Read a topic's messages, decoded (`events tail <topic>`).
    Events(events::Args),
    /// Register the Avro schemas in a schema registry, or check them against it.
    Schemas(schemas::Args),
    /// Print a shell completion script: `sagaflow completions bash > /etc/bash_completion.d/sagaflow`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// The `service.name` of this process's spans: `sagaflow-<service>` when it
    /// serves one service, else `sagaflow`.
    pub fn service_name(&self) -> String {
        match self {
            Command::Serve(args) if args.service != "all" => format!("sagaflow-{}", args.service),
            _ => "sagaflow".to_owned(),
        }
    }
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Topics(args) => topics::run(args).await,
        Command::Migrate(args) => migrate::run(args).await,
        Command::Relay(args) => relay::run(args).await,
        Command::Saga(args) => saga::run(args).await,
        Command::Orders(args) => orders::run(args).await,
        Command::Stock(args) => stock::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Token(args) => token::run(args).await,
        Command::Events(args) => events::run(args).await,
        Command::Schemas(args) => schemas::run(args).await,
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "sagaflow", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
            Ok(())
        }
        Command::Dlq(args) => dlq::run(args).await,
        Command::Broker(args) => broker::run(args).await,
    }
}

/// An API error body for people: `<detail> (<code>)` of an RFC 9457 problem (what
/// every Sagaflow service answers), else the body as it is.
pub fn problem_text(body: &serde_json::Value) -> String {
    match (body["detail"].as_str(), body["code"].as_str()) {
        (Some(detail), Some(code)) => match body["request_id"].as_str() {
            Some(id) => format!("{detail} ({code}, request {id})"),
            None => format!("{detail} ({code})"),
        },
        _ => body.to_string(),
    }
}

/// Cancelled on SIGINT or SIGTERM: services finish their in-flight message and stop.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                let _ = ctrl_c.await;
                cancel.cancel();
                return;
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}

/// Where a command finds PostgreSQL.
#[derive(clap::Args, Debug, Clone)]
pub struct Database {
    /// This service's database. When unset, `SAGAFLOW_PG_URL`'s server is used with
    /// one database per service (`sagaflow_<service>`), created if missing.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        value_name = "DATABASE_URL"
    )]
    pub database_url: Option<String>,

    /// A PostgreSQL server (any database on it) for per-service databases.
    #[arg(
        long = "pg-url",
        env = "SAGAFLOW_PG_URL",
        value_name = "SAGAFLOW_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub pg_url: String,
}

impl Database {
    /// The URL of `service`'s database.
    pub async fn url_for(&self, service: crate::platform::Service) -> anyhow::Result<String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => crate::platform::ensure_database(&self.pg_url, &service.database()).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn every_flag_of_every_service_is_distinct() {
        super::Cli::command().debug_assert();
    }
}
