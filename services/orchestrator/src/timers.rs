//! The timer loop: fires due saga timers from the database (they survive
//! restarts; any replica may fire them). A timer that cannot fire (corrupt saga,
//! undeployed definition version, ...) is parked by
//! [`timeouts::fire_due`] and the others keep firing; a transient database error
//! ends the round and the loop tries again after a pause. Every [`STUCK_EVERY`]
//! it refreshes the gauges `sagaflow_saga_stuck{definition}` (running or
//! compensating sagas with a command re-sent past its retry policy, `stuck` in
//! their state, or with a live timer overdue by more than [`STUCK_AFTER_SECS`]:
//! their timeout passed and nothing handled it) and `sagaflow_timers_parked` (parked timers, which an
//! operator lists and unparks through the API).

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
        "SELECT s.definition, count(*)
           FROM sagas s
          WHERE s.status IN ('running', 'compensating')
            AND (s.state ? 'stuck'
                 OR EXISTS (SELECT 1 FROM saga_timeouts t
                             WHERE t.saga_id = s.saga_id AND t.parked_at IS NULL
                               AND t.fire_at < now() - make_interval(secs => $1)))
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

/// Fires due timers until `shutdown`, polling every `poll` when none was due.
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
            if let Err(err) = timeouts::report_parked(&pool).await {
                warn!(error = %err, "counting parked timers");
            }
        }
        let pause = match timeouts::fire_due(&pool, &definitions, 500).await {
            Ok(round) if round.handled() > 0 => Duration::ZERO,
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
