//! The timer loop of the plan sagas: step deadlines and retry backoffs are rows
//! of the store's `saga_timeouts` table, so they survive restarts. Due timers
//! are claimed by the store's claim step
//! ([`sagaflow_saga_store::timeouts::fire_due_with`]): it locks the plan saga's
//! row, takes the timer, and parks a timer that cannot fire (its plan saga is
//! unreadable, runs a shape version not deployed, its plan is gone) with its
//! reason, while the others fire. Each timer is applied through
//! [`crate::execute`] in its transaction, so what it causes is audited like any
//! other input.
//!
//! Lock order: every other path locks the plan's row first and its saga's row
//! after (see [`crate::store`]); here the store has locked the saga's row
//! already, so the plan's row is only *tried* ([`store::try_lock`]): a plan busy
//! elsewhere leaves its timer due for the next round instead of waiting for the
//! plan while holding its saga (which could deadlock with that other path).

use std::sync::Arc;
use std::time::Duration;

use sagaflow_saga_engine::Input;
use sagaflow_saga_store::timeouts::{self, Round};
use sagaflow_saga_store::{Definitions, Error as StoreError};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::warn;
use uuid::Uuid;

use crate::error::Error;
use crate::{execute, store};

/// Fires up to `limit` due timers, each in its own transaction; parks those that
/// cannot fire (see the module docs).
pub async fn fire_due(
    pool: &PgPool,
    definitions: &Definitions,
    limit: usize,
) -> Result<Round, Error> {
    let round = timeouts::fire_due_with(
        pool,
        limit,
        definitions,
        |conn, definitions, plan_id, input| {
            Box::pin(async move {
                fire(conn, definitions, plan_id, input)
                    .await
                    .map_err(|err| for_store(plan_id, err))
            })
        },
    )
    .await?;
    Ok(round)
}

/// Applies a timer's input to its plan saga, whose row the store has locked.
/// False when the plan's row is busy: the timer stays due. A timer the saga no
/// longer expects decides nothing and is simply consumed.
async fn fire(
    conn: &mut PgConnection,
    definitions: &Definitions,
    plan_id: Uuid,
    input: &Input,
) -> Result<bool, Error> {
    let Some(plan) = store::try_lock(conn, plan_id).await? else {
        if store::get(conn, plan_id).await?.is_some() {
            return Ok(false);
        }
        return Err(Error::corrupt(plan_id, "its plan saga has no plan"));
    };
    execute::apply_locked(conn, definitions, &plan, input).await?;
    Ok(true)
}

/// A planner error as the store's claim step weighs it: a store or database
/// error keeps its kind (transient ends the round); anything else parks the
/// timer as `corrupt`, with the planner's reason.
fn for_store(plan_id: Uuid, err: Error) -> StoreError {
    match err {
        Error::Store(err) => err,
        Error::Database(err) => StoreError::Database(err),
        other @ (Error::Contract(_) | Error::Corrupt { .. }) => StoreError::Corrupt {
            saga_id: plan_id,
            reason: other.to_string(),
        },
    }
}

/// Fires due timers until `shutdown`, polling every `poll` when none was due.
pub async fn run(
    pool: PgPool,
    definitions: Arc<Definitions>,
    poll: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let pause = match fire_due(&pool, &definitions, 500).await {
            Ok(round) if round.handled() > 0 => Duration::ZERO,
            Ok(_) => poll,
            Err(err) => {
                warn!(error = %err, "firing plan timers");
                poll.max(Duration::from_millis(500))
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
