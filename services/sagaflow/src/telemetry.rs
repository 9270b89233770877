//! Logs, metrics and traces for every process.
//!
//! - Logs: `tracing` to stderr, text or JSON (`LOG_FORMAT`), filtered by `RUST_LOG`.
//! - Metrics: a Prometheus exporter on `METRICS_LISTEN` (`/metrics`).
//! - Traces: when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, Sagaflow's spans (an HTTP
//!   request at the gateway, one span per consumed message everywhere) are exported
//!   over OTLP/HTTP (protobuf) to `<endpoint>/v1/traces` in batches, as they end.
//!   Kafka messages carry the span as `traceparent` (see `sagaflow_bus::traceparent`),
//!   so a saga is one trace across every service.

use std::net::SocketAddr;

use anyhow::Context;
use metrics_exporter_prometheus::Matcher;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Buckets of every `*_seconds` histogram (exported as Prometheus histograms, so
/// quantiles aggregate across instances). 0.15 and 0.3 are the read and write
/// latency objectives of the alert rules (`infra/observability`).
pub const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Logging, metrics and tracing flags shared by every command.
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

    /// Export traces to this OpenTelemetry collector (OTLP/HTTP, e.g.
    /// `http://127.0.0.1:4318`); spans go to `<endpoint>/v1/traces`.
    #[arg(
        long = "otlp-endpoint",
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        value_name = "OTEL_EXPORTER_OTLP_ENDPOINT",
        global = true,
        value_parser = parse_endpoint
    )]
    pub otlp_endpoint: Option<String>,

    /// The OTLP protocol; only `http/protobuf` is built in.
    #[arg(
        long = "otlp-protocol",
        env = "OTEL_EXPORTER_OTLP_PROTOCOL",
        value_name = "OTEL_EXPORTER_OTLP_PROTOCOL",
        default_value = "http/protobuf",
        global = true,
        value_parser = ["http/protobuf"]
    )]
    pub otlp_protocol: String,

    /// `service.name` of exported spans (default: `sagaflow-<service>` for `serve`).
    #[arg(
        long = "otel-service-name",
        env = "OTEL_SERVICE_NAME",
        value_name = "OTEL_SERVICE_NAME",
        global = true
    )]
    pub service_name: Option<String>,
}

/// An `http(s)://` URL without a trailing slash.
fn parse_endpoint(raw: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".to_owned());
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// Flushes and stops the trace exporter when dropped (at the end of `main`).
#[must_use = "traces are flushed when the guard drops"]
pub struct Guard {
    traces: Option<SdkTracerProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take()
            && let Err(err) = provider.shutdown()
        {
            // Tracing is shutting down: stderr is all that is left.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("flushing traces: {err}");
            }
        }
    }
}

impl Telemetry {
    /// Installs the log subscriber (filter from `RUST_LOG`, default `info`), the
    /// OTLP trace exporter and the Prometheus exporter when asked for.
    ///
    /// Call before the Tokio runtime starts: the exporter's HTTP client is blocking
    /// and runs on its own thread.
    pub fn install(&self, default_service_name: &str) -> anyhow::Result<Guard> {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "info,sqlx=warn,rdkafka=warn".into());
        let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
        let logs = if self.log_format == "json" {
            logs.json().with_current_span(true).boxed()
        } else {
            logs.boxed()
        };
        let provider = match &self.otlp_endpoint {
            Some(endpoint) => Some(self.tracer_provider(endpoint, default_service_name)?),
            None => None,
        };
        // Traces hold Sagaflow's own spans whatever `RUST_LOG` says.
        let traces = provider.as_ref().map(|provider| {
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("sagaflow"))
                .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                    meta.is_span() && meta.target().starts_with("sagaflow")
                }))
        });
        tracing_subscriber::registry()
            .with(logs.with_filter(filter))
            .with(traces)
            .init();
        if let Some(addr) = self.metrics_listen {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .context("histogram buckets")?
                .with_http_listener(addr)
                .install()
                .with_context(|| format!("serving metrics on {addr}"))?;
            crate::metric_help::describe();
        }
        Ok(Guard { traces: provider })
    }

    fn tracer_provider(
        &self,
        endpoint: &str,
        default_service_name: &str,
    ) -> anyhow::Result<SdkTracerProvider> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(format!("{endpoint}/v1/traces"))
            .build()
            .with_context(|| format!("OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}"))?;
        let name = self
            .service_name
            .clone()
            .unwrap_or_else(|| default_service_name.to_owned());
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(name).build())
            .build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        telemetry: Telemetry,
    }

    #[test]
    fn a_bad_otlp_endpoint_or_protocol_names_its_key() {
        let ok = Cli::try_parse_from(["x", "--otlp-endpoint", "http://127.0.0.1:4318/"])
            .expect("valid endpoint");
        assert_eq!(
            ok.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        for (flag, value) in [
            ("--otlp-endpoint", "127.0.0.1:4318"),
            ("--otlp-endpoint", "ftp://collector"),
            ("--otlp-protocol", "grpc"),
        ] {
            let err = Cli::try_parse_from(["x", flag, value]).expect_err(value);
            let key = if flag == "--otlp-endpoint" {
                "OTEL_EXPORTER_OTLP_ENDPOINT"
            } else {
                "OTEL_EXPORTER_OTLP_PROTOCOL"
            };
            assert!(err.to_string().contains(key), "{err}");
        }
    }
}
