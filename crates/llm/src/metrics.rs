//! Metric names (recorded through the `metrics` facade) and small helpers.

/// Counter, labels `provider`, `outcome` (`ok` | `error` | `skipped`).
pub const CALLS_TOTAL: &str = "sagaflow_llm_calls_total";
/// Histogram of one provider's turn (retries included), label `provider`.
pub const CALL_SECONDS: &str = "sagaflow_llm_call_seconds";
/// Counter, labels `provider`, `direction` (`input` | `output`).
pub const TOKENS_TOTAL: &str = "sagaflow_llm_tokens_total";
/// Counter of USD millionths, label `provider`.
pub const COST_MICROS_TOTAL: &str = "sagaflow_llm_cost_micros_total";
/// Gauge, label `provider`: 0 closed, 1 half-open, 2 open.
pub const BREAKER_STATE: &str = "sagaflow_llm_breaker_state";
/// Counter: times the chain moved on from a failed or skipped provider to the next one.
pub const FALLBACKS_TOTAL: &str = "sagaflow_llm_fallbacks_total";

pub(crate) fn call(provider: &str, outcome: &'static str, seconds: Option<f64>) {
    metrics::counter!(CALLS_TOTAL, "provider" => provider.to_owned(), "outcome" => outcome)
        .increment(1);
    if let Some(seconds) = seconds {
        metrics::histogram!(CALL_SECONDS, "provider" => provider.to_owned()).record(seconds);
    }
}

pub(crate) fn usage(provider: &str, input: u32, output: u32, cost_micros: i64) {
    metrics::counter!(TOKENS_TOTAL, "provider" => provider.to_owned(), "direction" => "input")
        .increment(u64::from(input));
    metrics::counter!(TOKENS_TOTAL, "provider" => provider.to_owned(), "direction" => "output")
        .increment(u64::from(output));
    metrics::counter!(COST_MICROS_TOTAL, "provider" => provider.to_owned())
        .increment(u64::try_from(cost_micros).unwrap_or(0));
}

pub(crate) fn breaker_state(provider: &str, value: f64) {
    metrics::gauge!(BREAKER_STATE, "provider" => provider.to_owned()).set(value);
}

pub(crate) fn fallback() {
    metrics::counter!(FALLBACKS_TOTAL).increment(1);
}
