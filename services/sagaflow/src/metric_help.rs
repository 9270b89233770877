//! The HELP text of every metric the platform records, in one list: [`describe`]
//! hands it to the Prometheus exporter when `sagaflow` installs it, so every
//! `# TYPE` line on `/metrics` comes with a `# HELP` line. A test scans the
//! workspace's `metrics::counter!` / `gauge!` / `histogram!` calls and fails when a
//! metric is missing here (or listed here and no longer recorded).

/// What a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

use Kind::{Counter, Gauge, Histogram};

/// (name, kind, help) of every metric.
pub const METRICS: &[(&str, Kind, &str)] = &[
    // Messaging (events/bus): outbox, inbox, consumers, dead letters, the broker.
    (
        "sagaflow_outbox_published_total",
        Counter,
        "Outbox messages the relay published, by topic.",
    ),
    (
        "sagaflow_outbox_publish_failures_total",
        Counter,
        "Failed publications of outbox messages (retried, or parked).",
    ),
    (
        "sagaflow_outbox_publish_seconds",
        Histogram,
        "Time from an outbox row's commit to the broker's acknowledgement, in seconds.",
    ),
    (
        "sagaflow_outbox_backlog",
        Gauge,
        "Outbox rows not yet published.",
    ),
    (
        "sagaflow_outbox_parked",
        Gauge,
        "Outbox rows parked (not sent until an operator unparks or purges them).",
    ),
    (
        "sagaflow_outbox_parked_total",
        Counter,
        "Outbox rows parked because the broker could not take them.",
    ),
    (
        "sagaflow_outbox_pruned_total",
        Counter,
        "Published outbox rows deleted after their retention.",
    ),
    (
        "sagaflow_inbox_batch_size",
        Histogram,
        "Messages handled in one inbox transaction.",
    ),
    (
        "sagaflow_inbox_pruned_total",
        Counter,
        "Inbox rows deleted after their retention.",
    ),
    (
        "sagaflow_inbox_skipped_total",
        Counter,
        "Messages the inbox skipped (not for this consumer, or already handled).",
    ),
    (
        "sagaflow_messages_duplicate_total",
        Counter,
        "Redelivered messages the inbox recognised and did not apply again.",
    ),
    (
        "sagaflow_handler_seconds",
        Histogram,
        "Time a handler took for one message, transaction included, in seconds.",
    ),
    (
        "sagaflow_handler_retries_total",
        Counter,
        "Handler attempts retried after a transient failure.",
    ),
    (
        "sagaflow_consumer_retries_total",
        Counter,
        "Messages a consumer retried after a failed attempt.",
    ),
    (
        "sagaflow_consumer_pauses_total",
        Counter,
        "Times a consumer paused a partition while a message waited for its retry.",
    ),
    (
        "sagaflow_consumer_lag",
        Gauge,
        "Messages between a consumer group's committed offset and the partition's end.",
    ),
    (
        "sagaflow_dead_letters_total",
        Counter,
        "Messages dead-lettered to <topic>.dlq with their reason, by consumer and reason.",
    ),
    (
        "sagaflow_broker_up",
        Gauge,
        "1 when the last broker probe (produce and consume a message) succeeded, else 0.",
    ),
    (
        "sagaflow_broker_probe_seconds",
        Histogram,
        "Round trip of a broker probe message, in seconds.",
    ),
    // Sagas: the orchestrator and its engine.
    (
        "sagaflow_sagas_finished_total",
        Counter,
        "Sagas that reached a terminal status, by definition and status.",
    ),
    (
        "sagaflow_saga_duration_seconds",
        Histogram,
        "Time from a saga's start to its terminal status, in seconds.",
    ),
    (
        "sagaflow_saga_step_seconds",
        Histogram,
        "Time from a step's command to its reply, in seconds.",
    ),
    (
        "sagaflow_saga_compensations_total",
        Counter,
        "Compensation commands sent.",
    ),
    (
        "sagaflow_saga_stuck",
        Gauge,
        "Running sagas with no progress for longer than the stuck threshold.",
    ),
    (
        "sagaflow_saga_erasures_total",
        Counter,
        "Saga logs whose personal data was erased.",
    ),
    (
        "sagaflow_timers_parked",
        Gauge,
        "Saga timers parked (they could not fire) awaiting an operator.",
    ),
    (
        "sagaflow_timers_parked_total",
        Counter,
        "Saga timers parked because firing them failed.",
    ),
    (
        "sagaflow_orchestrator_cancel_refused_total",
        Counter,
        "CancelSaga commands refused (unknown saga, another tenant, or past its pivot).",
    ),
    // The gateway.
    (
        "sagaflow_http_request_seconds",
        Histogram,
        "Gateway HTTP request latency by route, method and status, in seconds.",
    ),
    (
        "sagaflow_gateway_checkouts_total",
        Counter,
        "Checkout requests, by result (created, replayed, refused).",
    ),
    (
        "sagaflow_gateway_generations_total",
        Counter,
        "Generation requests, by result (created, replayed).",
    ),
    (
        "sagaflow_gateway_generation_cancellations_total",
        Counter,
        "Generation cancellations requested.",
    ),
    (
        "sagaflow_gateway_order_changes_total",
        Counter,
        "Order cancellations and refunds requested, by kind and result.",
    ),
    (
        "sagaflow_gateway_auth_rejected_total",
        Counter,
        "Requests refused for their bearer token, by reason.",
    ),
    (
        "sagaflow_gateway_rate_limited_total",
        Counter,
        "Requests refused by a rate limit, by limit.",
    ),
    (
        "sagaflow_gateway_rate_limit_errors_total",
        Counter,
        "Rate-limit checks that failed (Redis unreachable) and let the request through.",
    ),
    (
        "sagaflow_gateway_rate_limit_evictions_total",
        Counter,
        "In-memory rate-limit buckets evicted.",
    ),
    (
        "sagaflow_gateway_internal_errors_total",
        Counter,
        "Requests answered 500.",
    ),
    (
        "sagaflow_gateway_panics_total",
        Counter,
        "Handler panics caught and answered 500.",
    ),
    (
        "sagaflow_gateway_upstream_failures_total",
        Counter,
        "Forwarded requests whose backend failed or was unreachable, by backend.",
    ),
    (
        "sagaflow_gateway_upstream_connection_errors_total",
        Counter,
        "Backend connections lost under a request, by backend, kind and whether it was retried.",
    ),
    (
        "sagaflow_gateway_progress_projected_total",
        Counter,
        "Saga progress events applied to the gateway's read model.",
    ),
    (
        "sagaflow_gateway_products_projected_total",
        Counter,
        "Catalogue changes applied to the gateway's product read model.",
    ),
    (
        "sagaflow_gateway_sagas_adopted_total",
        Counter,
        "Sagas started elsewhere (the planner, a producer) adopted into the read model.",
    ),
    (
        "sagaflow_gateway_pruned_total",
        Counter,
        "Read-model and idempotency rows pruned, by table.",
    ),
    (
        "sagaflow_gateway_housekeeping_errors_total",
        Counter,
        "Failed housekeeping rounds (pruning).",
    ),
    (
        "sagaflow_gateway_sse_streams",
        Gauge,
        "Open server-sent event streams.",
    ),
    (
        "sagaflow_gateway_sse_refused_total",
        Counter,
        "Server-sent event streams refused (too many per user or in all).",
    ),
    (
        "sagaflow_gateway_sse_listener_errors_total",
        Counter,
        "Failures of the PostgreSQL listener that wakes the event streams.",
    ),
    (
        "sagaflow_internal_auth_rejected_total",
        Counter,
        "Requests to a service refused for their internal token, by service and reason.",
    ),
    (
        "sagaflow_operator_auth_rejected_total",
        Counter,
        "Operator API requests refused for their token, by reason.",
    ),
    // Checkout participants.
    (
        "sagaflow_inventory_reservations_total",
        Counter,
        "Stock reservations, by result.",
    ),
    (
        "sagaflow_inventory_releases_total",
        Counter,
        "Stock reservations released (compensations).",
    ),
    (
        "sagaflow_inventory_restocks_total",
        Counter,
        "Cancelled orders' stock returned.",
    ),
    (
        "sagaflow_pricing_quotes_total",
        Counter,
        "Orders priced, by result.",
    ),
    (
        "sagaflow_pricing_product_changes_total",
        Counter,
        "Catalogue changes applied to the pricing service's prices.",
    ),
    (
        "sagaflow_catalog_product_changes_total",
        Counter,
        "Catalogue changes published.",
    ),
    (
        "sagaflow_payments_total",
        Counter,
        "Payments taken, by result.",
    ),
    (
        "sagaflow_payment_provider_calls_total",
        Counter,
        "Calls to the payment provider, by operation and outcome.",
    ),
    (
        "sagaflow_refunds_total",
        Counter,
        "Checkout payments refunded (compensations).",
    ),
    (
        "sagaflow_payment_refunds_total",
        Counter,
        "After-sale refunds paid, by result.",
    ),
    (
        "sagaflow_orders_total",
        Counter,
        "Orders created, by result.",
    ),
    (
        "sagaflow_order_aftersale_total",
        Counter,
        "After-sale order changes (cancellations, refunds), by step and result.",
    ),
    (
        "sagaflow_order_pruned_total",
        Counter,
        "Order service rows pruned after their retention.",
    ),
    (
        "sagaflow_cart_erasures_total",
        Counter,
        "Carts erased with their user.",
    ),
    (
        "sagaflow_notifications_total",
        Counter,
        "Notifications, by channel and outcome (sent, skipped by preference, failed).",
    ),
    (
        "sagaflow_notification_erasures_total",
        Counter,
        "Users whose notifications were erased.",
    ),
    // Generation and the LLM chain.
    (
        "sagaflow_documents_validated_total",
        Counter,
        "Drafts validated, by verdict.",
    ),
    (
        "sagaflow_documents_exported_total",
        Counter,
        "Documents exported.",
    ),
    (
        "sagaflow_generations_refused_total",
        Counter,
        "Generation steps refused, by reason (cancelled, over budget).",
    ),
    (
        "sagaflow_generation_erasures_total",
        Counter,
        "Users whose generation data was erased.",
    ),
    (
        "sagaflow_llm_calls_total",
        Counter,
        "LLM provider calls, by provider and outcome.",
    ),
    (
        "sagaflow_llm_call_seconds",
        Histogram,
        "LLM provider call latency, by provider, in seconds.",
    ),
    (
        "sagaflow_llm_tokens_total",
        Counter,
        "LLM tokens, by provider and direction (input, output).",
    ),
    (
        "sagaflow_llm_cost_micros_total",
        Counter,
        "LLM cost in millionths of a US dollar, by provider.",
    ),
    (
        "sagaflow_llm_fallbacks_total",
        Counter,
        "Calls that fell back to the next provider of the chain.",
    ),
    (
        "sagaflow_llm_breaker_state",
        Gauge,
        "A provider's circuit breaker: 0 closed, 1 half-open, 2 open.",
    ),
    (
        "sagaflow_llm_cache_hits_total",
        Counter,
        "Drafts answered from the response cache.",
    ),
    (
        "sagaflow_llm_cache_misses_total",
        Counter,
        "Drafts the response cache could not answer.",
    ),
    // The assistant and the tracker.
    (
        "sagaflow_planner_plans_total",
        Counter,
        "Assistant plans, by outcome (drafted, confirmed, cancelled, refused).",
    ),
    (
        "sagaflow_planner_log_entries_total",
        Counter,
        "Entries appended to plan logs.",
    ),
    (
        "sagaflow_planner_erasures_total",
        Counter,
        "Users whose plans were erased.",
    ),
    (
        "sagaflow_applications_status_changes_total",
        Counter,
        "Job-application status changes, by new status.",
    ),
    (
        "sagaflow_applications_attachments_total",
        Counter,
        "Documents attached to applications, by result.",
    ),
    (
        "sagaflow_applications_erasures_total",
        Counter,
        "Users whose applications were erased.",
    ),
    (
        "sagaflow_applications_reminders_scheduled_total",
        Counter,
        "Reminders set, by kind.",
    ),
    (
        "sagaflow_applications_reminders_sent_total",
        Counter,
        "Reminders fired as notifications, by kind.",
    ),
    (
        "sagaflow_applications_reminders_parked_total",
        Counter,
        "Reminders that could not be sent and were parked with the reason.",
    ),
];

/// Registers every HELP text with the installed recorder.
pub fn describe() {
    for (name, kind, help) in METRICS {
        match kind {
            Counter => metrics::describe_counter!(*name, *help),
            Gauge => metrics::describe_gauge!(*name, *help),
            Histogram => metrics::describe_histogram!(*name, *help),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use super::*;

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() && !matches!(name.as_str(), "tests" | "target" | "benches") {
                sources(&path, out);
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }

    /// Every metric recorded in the workspace's non-test code: a literal name, or a
    /// `const NAME: &str = "sagaflow_..."` the macro names.
    fn recorded() -> BTreeMap<String, Kind> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for dir in ["services", "crates", "sagas", "events", "loadtest"] {
            sources(&root.join(dir), &mut files);
        }
        let texts: Vec<String> = files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .collect();
        let mut constants = BTreeMap::new();
        for text in &texts {
            for line in text.lines() {
                let line = line.trim();
                if let Some(rest) = line
                    .strip_prefix("pub const ")
                    .or(line.strip_prefix("const "))
                    && let Some((ident, value)) = rest.split_once(": &str = \"")
                    && value.starts_with("sagaflow_")
                {
                    constants.insert(ident.to_owned(), value.trim_end_matches("\";").to_owned());
                }
            }
        }
        let mut found = BTreeMap::new();
        for text in &texts {
            for (macro_name, kind) in [
                ("counter!(", Counter),
                ("gauge!(", Gauge),
                ("histogram!(", Histogram),
            ] {
                for (at, _) in text.match_indices(macro_name) {
                    let after = text[at + macro_name.len()..].trim_start();
                    let name = if let Some(literal) = after.strip_prefix('"') {
                        literal.split('"').next().map(str::to_owned)
                    } else {
                        let ident: String = after
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | ':'))
                            .collect();
                        constants
                            .get(ident.rsplit("::").next().unwrap_or_default())
                            .cloned()
                    };
                    if let Some(name) = name.filter(|n| n.starts_with("sagaflow_")) {
                        found.insert(name, kind);
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_recorded_metric_has_help_and_every_help_a_metric() {
        let recorded = recorded();
        assert!(
            recorded.len() >= 80,
            "the scan found only {}",
            recorded.len()
        );
        let listed: BTreeMap<String, Kind> = METRICS
            .iter()
            .map(|(name, kind, _)| ((*name).to_owned(), *kind))
            .collect();
        let missing: Vec<_> = recorded
            .iter()
            .filter(|(n, _)| !listed.contains_key(*n))
            .collect();
        let stale: Vec<_> = listed
            .keys()
            .filter(|n| !recorded.contains_key(*n))
            .collect();
        let wrong: Vec<_> = recorded
            .iter()
            .filter(|(n, k)| listed.get(*n).is_some_and(|l| l != *k))
            .collect();
        assert!(missing.is_empty(), "metrics without HELP text: {missing:?}");
        assert!(
            stale.is_empty(),
            "HELP for metrics nothing records: {stale:?}"
        );
        assert!(wrong.is_empty(), "listed with the wrong kind: {wrong:?}");
        for (name, _, help) in METRICS {
            assert!(help.ends_with('.') && help.len() > 10, "{name}: {help}");
        }
    }

    #[test]
    fn the_exporter_prints_the_help() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe();
            metrics::counter!("sagaflow_orders_total", "result" => "created").increment(1);
            metrics::histogram!("sagaflow_saga_duration_seconds").record(0.25);
        });
        let text = handle.render();
        assert!(
            text.contains("# HELP sagaflow_orders_total Orders created, by result."),
            "{text}"
        );
        assert!(
            text.contains("# HELP sagaflow_saga_duration_seconds Time from"),
            "{text}"
        );
    }
}
