//! Soak samples (`--sample-secs N`): while the load runs, every N seconds the size
//! of each table that must stay flat under a steady rate (every service's outbox
//! and inbox, the gateway's idempotency keys, the orchestrator's timers; records of
//! what happened, such as saga logs and orders, grow by design) and the latency of the sagas that ended in the window (creation to the
//! terminal entry, from the orchestrator's saga rows). The report prints them as a
//! time series and compares the last quarter of the run with the second quarter,
//! so a table or a p99 that keeps growing shows.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::databases::{Databases, SERVICES};

/// Tables whose size must plateau (service, table). Every service has an outbox and
/// an inbox; these are the other ones.
const OWN_TABLES: [(&str, &str); 2] = [
    ("gateway", "idempotency_keys"),
    ("orchestrator", "saga_timeouts"),
];

/// One sample.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub at_secs: f64,
    /// Rows per table, summed over the services (`outbox`, `inbox`, and
    /// `<service>.<table>` for the others); `outbox_unsent` is the backlog.
    pub rows: BTreeMap<String, i64>,
    /// Sagas that reached `completed` or `compensated` in this window.
    pub ended: i64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Samples every `every` until `stop`; errors of one sample are logged and skipped.
pub async fn run(dbs: &Databases, every: Duration, mut stop: oneshot::Receiver<()>) -> Vec<Sample> {
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval_at(Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = &mut stop => return samples,
            _ = tick.tick() => {}
        }
        match sample(dbs, every).await {
            Ok(mut s) => {
                s.at_secs = started.elapsed().as_secs_f64();
                samples.push(s);
            }
            Err(err) => tracing::warn!(error = %err, "soak sample failed"),
        }
    }
}

async fn sample(dbs: &Databases, window: Duration) -> Result<Sample, sqlx::Error> {
    let mut rows = BTreeMap::new();
    for service in SERVICES {
        let (total, unsent): (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE sent_at IS NULL) FROM sagaflow_outbox",
        )
        .fetch_one(dbs.pool(service))
        .await?;
        *rows.entry("outbox".to_owned()).or_insert(0) += total;
        *rows.entry("outbox_unsent".to_owned()).or_insert(0) += unsent;
        let (inbox,): (i64,) = sqlx::query_as("SELECT count(*) FROM sagaflow_inbox")
            .fetch_one(dbs.pool(service))
            .await?;
        *rows.entry("inbox".to_owned()).or_insert(0) += inbox;
    }
    for (service, table) in OWN_TABLES {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(dbs.pool(service))
            .await?;
        rows.insert(format!("{service}.{table}"), n);
    }
    let (ended, p50, p99): (i64, Option<f64>, Option<f64>) = sqlx::query_as(
        "SELECT count(*),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
                percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)
           FROM (SELECT extract(epoch FROM updated_at - created_at)::float8 * 1000 AS ms
                   FROM sagas
                  WHERE status IN ('completed', 'compensated')
                    AND updated_at > now() - make_interval(secs => $1)) ended",
    )
    .bind(window.as_secs_f64())
    .fetch_one(dbs.pool("orchestrator"))
    .await?;
    Ok(Sample {
        at_secs: 0.0,
        rows,
        ended,
        p50_ms: p50,
        p99_ms: p99,
    })
}

/// The samples as a table, then the trend: the mean of the last quarter against
/// the mean of the second quarter, per column (the first quarter is warm-up).
pub fn render(samples: &[Sample]) -> String {
    let mut out = String::new();
    let Some(first) = samples.first() else {
        return out;
    };
    let tables: Vec<&String> = first.rows.keys().collect();
    let _ = write!(
        out,
        "{:>7}  {:>6}  {:>8}  {:>8}",
        "t(s)", "ended", "p50(ms)", "p99(ms)"
    );
    for t in &tables {
        let _ = write!(out, "  {t:>w$}", w = t.len().max(6));
    }
    out.push('\n');
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
    for s in samples {
        let _ = write!(
            out,
            "{:>7.0}  {:>6}  {:>8}  {:>8}",
            s.at_secs,
            s.ended,
            ms(s.p50_ms),
            ms(s.p99_ms)
        );
        for t in &tables {
            let n = s.rows.get(*t).copied().unwrap_or(0);
            let _ = write!(out, "  {n:>w$}", w = t.len().max(6));
        }
        out.push('\n');
    }
    if samples.len() >= 4 {
        let q = samples.len() / 4;
        let (second, last) = (&samples[q..2 * q], &samples[samples.len() - q..]);
        let mean = |part: &[Sample], f: &dyn Fn(&Sample) -> Option<f64>| {
            let v: Vec<f64> = part.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let _ = writeln!(
            out,
            "trend (mean of the last quarter / mean of the second):"
        );
        let mut trend = |name: &str, f: &dyn Fn(&Sample) -> Option<f64>| {
            if let (Some(a), Some(b)) = (mean(second, f), mean(last, f)) {
                let ratio = if a > 0.0 { b / a } else { f64::NAN };
                let _ = writeln!(out, "  {name}: {a:.0} -> {b:.0} (x{ratio:.2})");
            }
        };
        trend("p99(ms)", &|s| s.p99_ms);
        for t in &tables {
            trend(t, &|s| s.rows.get(*t).map(|&n| n as f64));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: f64, outbox: i64, p99: f64) -> Sample {
        Sample {
            at_secs: at,
            rows: BTreeMap::from([("outbox".to_owned(), outbox)]),
            ended: 10,
            p50_ms: Some(p99 / 2.0),
            p99_ms: Some(p99),
        }
    }

    #[test]
    fn the_trend_compares_the_last_quarter_with_the_second() {
        // Eight samples: quarters of two. Second quarter outbox 100, last 400.
        let outbox = [50, 60, 100, 100, 200, 300, 400, 400];
        let samples: Vec<Sample> = outbox
            .iter()
            .enumerate()
            .map(|(i, &n)| sample(60.0 * (i + 1) as f64, n, 200.0))
            .collect();
        let text = render(&samples);
        assert!(text.contains("outbox: 100 -> 400 (x4.00)"), "{text}");
        assert!(text.contains("p99(ms): 200 -> 200 (x1.00)"), "{text}");
        assert_eq!(
            text.lines()
                .filter(|l| l.trim_start().starts_with("480"))
                .count(),
            1
        );
    }

    #[test]
    fn no_samples_render_nothing() {
        assert_eq!(render(&[]), "");
    }
}
