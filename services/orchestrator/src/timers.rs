//! The timer loop: fires due saga timers from the database (they survive
//! restarts; any replica may fire them), and every [`STUCK_EVERY`] refreshes the
//! gauge `sagaflow_saga_stuck{definition}`: running sagas with a timer overdue by
//! more than [`STUCK_AFTER_SECS`] (their timeout passed and nothing handled it).

use std::sync::Arc;
use std::time::Duration;

use sagaflow_saga_store::{Definitions, timeouts};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// How often the stuck-saga gauge is refreshed.
pub const STUCK_EVERY: Duration = Duration::from_secs(15);
/// How far past its deadline a timer must be for its saga to count as stuck.
pub const STUCK_AFTER_SECS: f64 = 60.0;

/// Sets `sagaflow_saga_stuck` per definition (0 for definitions with none).
pub async fn report_stuck(pool: &PgPool, definitions: &Definitions) -> Result<(), sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT s.definition, count(DISTINCT s.saga_id)
           FROM sagas s JOIN saga_timeouts t ON t.saga_id = s.saga_id
          WHERE s.status = 'running'
            AND t.fire_at < now() - make_interval(secs => $1)
          GROUP BY s.definition",
    )
    .bind(STUCK_AFTER_SECS)
    .fetch_all(pool)
    .await?;
    let mut names: Vec<&str> = definitions.iter().map(|d| d.name).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let stuck = rows
            .iter()
            .find(|(definition, _)| definition == name)
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("sagaflow_saga_stuck", "definition" => name.to_owned()).set(stuck as f64);
    }
    Ok(())
}

pub async fn run(
    pool: PgPool,
    definitions: Arc<Definitions>,
    poll: Duration,
    shutdown: CancellationToken,
) {
    let mut last_report: Option<tokio::time::Instant> = None;
    loop {
        if last_report.is_none_or(|at| at.elapsed() >= STUCK_EVERY) {
            last_report = Some(tokio::time::Instant::now());
            if let Err(err) = report_stuck(&pool, &definitions).await {
                warn!(error = %err, "counting stuck sagas");
            }
        }
        let pause = match timeouts::fire_due(&pool, &definitions, 500).await {
            Ok(n) if n > 0 => Duration::ZERO,
            Ok(_) => poll,
            Err(err) => {
                warn!(error = %err, "firing saga timers");
                poll.max(Duration::from_millis(500))
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
