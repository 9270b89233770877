//! Logs and metrics for every process.

use std::net::SocketAddr;

use anyhow::Context;

/// Logging and metrics flags shared by every command.
#[derive(clap::Args, Debug, Clone)]
pub struct Telemetry {
    /// `text` for people, `json` for log pipelines.
    #[arg(long = "log-format", env = "LOG_FORMAT", value_name = "LOG_FORMAT", default_value = "text", global = true,
          value_parser = ["text", "json"])]
    pub log_format: String,

    /// Serve Prometheus metrics on this address (`/metrics`).
    #[arg(
        long = "metrics-listen",
        env = "METRICS_LISTEN",
        value_name = "METRICS_LISTEN",
        global = true
    )]
    pub metrics_listen: Option<SocketAddr>,
}

impl Telemetry {
    /// Installs the log subscriber (filter from `RUST_LOG`, default `info`) and the
    /// Prometheus exporter when asked for.
    pub fn install(&self) -> anyhow::Result<()> {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "info,sqlx=warn,rdkafka=warn".into());
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        if self.log_format == "json" {
            builder.json().with_current_span(true).init();
        } else {
            builder.init();
        }
        if let Some(addr) = self.metrics_listen {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .with_http_listener(addr)
                .install()
                .with_context(|| format!("serving metrics on {addr}"))?;
        }
        Ok(())
    }
}
