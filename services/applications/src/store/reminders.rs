//! The `reminders` table: follow-ups an owner sets on their applications, the
//! reminder kept in step with each pending interview ([`sync_interview`]), and the
//! scheduler's claim of due reminders ([`fire_due`]) and pruning ([`prune`]); the
//! facts of the next-actions list ([`next_action_facts`]).

use chrono::{DateTime, Utc};
use sagaflow_bus::{Outgoing, outbox};
use sagaflow_events::messages::{Channel, SendNotification};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Error, Owner, bad_text, interviews::owned};
use crate::interview::{Interview, InterviewOutcome};
use crate::next_actions::{About, Applied, Facts, PendingInterview, ScheduledReminder};
use crate::reminder::{self, Fired, NewReminder, Reminder, ReminderKind, ReminderStatus};

const COLUMNS: &str = "reminder_id, application_id, interview_id, kind, due_at, note, status, \
                       reason, done_at, created_at";

#[derive(sqlx::FromRow)]
struct Row {
    reminder_id: Uuid,
    application_id: Uuid,
    interview_id: Option<Uuid>,
    kind: String,
    due_at: DateTime<Utc>,
    note: Option<String>,
    status: String,
    reason: Option<String>,
    done_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<Row> for Reminder {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> Result<Self, sqlx::Error> {
        Ok(Reminder {
            id: r.reminder_id,
            application_id: r.application_id,
            interview_id: r.interview_id,
            kind: ReminderKind::parse(&r.kind).ok_or_else(|| bad_text("kind", &r.kind))?,
            due_at: r.due_at,
            note: r.note,
            status: ReminderStatus::parse(&r.status)
                .ok_or_else(|| bad_text("status", &r.status))?,
            reason: r.reason,
            done_at: r.done_at,
            created_at: r.created_at,
        })
    }
}

/// The reminders of the owner's application, soonest first.
pub async fn list(
    pool: &PgPool,
    owner: &Owner,
    application_id: Uuid,
) -> Result<Vec<Reminder>, Error> {
    let mut tx = pool.begin().await?;
    owned(&mut tx, owner, application_id).await?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reminders WHERE application_id = $1 ORDER BY due_at, reminder_id"
    ))
    .bind(application_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(Reminder::try_from)
        .collect::<Result<_, _>>()?)
}

/// Sets a follow-up reminder on the owner's application.
pub async fn create(
    pool: &PgPool,
    owner: &Owner,
    application_id: Uuid,
    new: &NewReminder,
) -> Result<Reminder, Error> {
    let mut tx = pool.begin().await?;
    owned(&mut tx, owner, application_id).await?;
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO reminders (reminder_id, tenant_id, user_id, application_id, kind, due_at, note)
         VALUES ($1, $2, $3, $4, 'follow_up', $5, $6)
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(application_id)
    .bind(new.due_at)
    .bind(&new.note)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    metrics::counter!("sagaflow_applications_reminders_scheduled_total", "kind" => "follow_up")
        .increment(1);
    Ok(Reminder::try_from(row)?)
}

/// Cancels a scheduled reminder of the owner's application (a sent one stays sent);
/// returns it.
pub async fn cancel(
    pool: &PgPool,
    owner: &Owner,
    application_id: Uuid,
    reminder_id: Uuid,
) -> Result<Reminder, Error> {
    let mut tx = pool.begin().await?;
    owned(&mut tx, owner, application_id).await?;
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE reminders SET
             status = CASE WHEN status = 'scheduled' THEN 'cancelled' ELSE status END,
             done_at = COALESCE(done_at, now())
         WHERE reminder_id = $1 AND application_id = $2
         RETURNING {COLUMNS}"
    ))
    .bind(reminder_id)
    .bind(application_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Reminder::try_from(row.ok_or(Error::NotFound("reminder"))?).map_err(Error::from)
}

/// Keeps the reminder of `interview` in step with it: scheduled (a day before, see
/// [`reminder::interview_due`]) while it is pending and ahead, cancelled otherwise.
/// A moved interview gets a new reminder id, so a reminder already sent for the
/// old time does not swallow the new one.
pub async fn sync_interview(
    tx: &mut PgConnection,
    owner: &Owner,
    interview: &Interview,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let due = (interview.fields.outcome == InterviewOutcome::Pending)
        .then(|| reminder::interview_due(interview.fields.scheduled_at, now))
        .flatten();
    match due {
        Some(due_at) => {
            sqlx::query(
                "INSERT INTO reminders (reminder_id, tenant_id, user_id, application_id,
                                        interview_id, kind, due_at)
                 VALUES ($1, $2, $3, $4, $5, 'interview', $6)
                 ON CONFLICT (interview_id) DO UPDATE SET
                     reminder_id = EXCLUDED.reminder_id, due_at = EXCLUDED.due_at,
                     status = 'scheduled', reason = NULL, done_at = NULL
                 WHERE reminders.due_at <> EXCLUDED.due_at OR reminders.status = 'cancelled'",
            )
            .bind(Uuid::now_v7())
            .bind(&owner.tenant_id)
            .bind(&owner.user_id)
            .bind(interview.application_id)
            .bind(interview.id)
            .bind(due_at)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query(
                "UPDATE reminders SET status = 'cancelled', done_at = now()
                 WHERE interview_id = $1 AND status = 'scheduled'",
            )
            .bind(interview.id)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Due {
    reminder_id: Uuid,
    tenant_id: String,
    user_id: String,
    kind: String,
    note: Option<String>,
    company: String,
    role: String,
    interview_at: Option<DateTime<Utc>>,
    interview_kind: Option<String>,
}

/// What [`fire_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub sent: usize,
    pub parked: usize,
}

/// Fires up to `limit` reminders due at `now`, in one transaction: each becomes a
/// `SendNotification` in the outbox (PUSH to its user; `notification_id` = the
/// reminder id, so the notification service sends it once however often it is
/// delivered) and is marked sent. A reminder that cannot be turned into a message
/// is parked with the reason and the rest go on. Rows another replica holds are
/// skipped (`SKIP LOCKED`).
pub async fn fire_due(pool: &PgPool, now: DateTime<Utc>, limit: i64) -> Result<Tally, Error> {
    let mut tx = pool.begin().await?;
    let due: Vec<Due> = sqlx::query_as(
        "SELECT r.reminder_id, r.tenant_id, r.user_id, r.kind, r.note, a.company, a.role,
                i.scheduled_at AS interview_at, i.kind AS interview_kind
         FROM reminders r
         JOIN applications a ON a.application_id = r.application_id
         LEFT JOIN interviews i ON i.interview_id = r.interview_id
         WHERE r.status = 'scheduled' AND r.due_at <= $1
         ORDER BY r.due_at
         LIMIT $2
         FOR UPDATE OF r SKIP LOCKED",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut done = Tally::default();
    for row in due {
        match notification(&row) {
            Ok(message) => {
                outbox::enqueue(&mut tx, &[message]).await?;
                sqlx::query(
                    "UPDATE reminders SET status = 'sent', done_at = $2 WHERE reminder_id = $1",
                )
                .bind(row.reminder_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                metrics::counter!("sagaflow_applications_reminders_sent_total", "kind" => row.kind.clone())
                    .increment(1);
                done.sent += 1;
            }
            Err(reason) => {
                tracing::warn!(reminder_id = %row.reminder_id, %reason, "reminder parked");
                sqlx::query(
                    "UPDATE reminders SET status = 'parked', reason = $2, done_at = $3
                     WHERE reminder_id = $1",
                )
                .bind(row.reminder_id)
                .bind(&reason)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                metrics::counter!("sagaflow_applications_reminders_parked_total").increment(1);
                done.parked += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(done)
}

/// The `SendNotification` a due reminder sends, or why it cannot.
fn notification(row: &Due) -> Result<Outgoing, String> {
    let kind =
        ReminderKind::parse(&row.kind).ok_or_else(|| format!("unknown kind `{}`", row.kind))?;
    let interview = match (kind, row.interview_at, row.interview_kind.as_deref()) {
        (ReminderKind::Interview, Some(at), Some(kind)) => Some((at, kind)),
        (ReminderKind::Interview, ..) => return Err("its interview is gone".to_owned()),
        _ => None,
    };
    let (subject, body) = reminder::message(&Fired {
        kind,
        company: &row.company,
        role: &row.role,
        note: row.note.as_deref(),
        interview,
    });
    let command = SendNotification {
        notification_id: row.reminder_id,
        saga_id: None,
        channel: Channel::Push,
        recipient: row.user_id.clone(),
        subject,
        body,
        user_id: Some(row.user_id.clone()),
    };
    Outgoing::new(&row.tenant_id, None, row.reminder_id.to_string(), &command)
        .map_err(|e| format!("the notification cannot be encoded: {e}"))
}

/// Deletes reminders done (sent, cancelled or parked) before `before`; returns how
/// many.
pub async fn prune(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM reminders WHERE status <> 'scheduled' AND done_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// What the owner's next-actions list is made from.
pub async fn next_action_facts(pool: &PgPool, owner: &Owner) -> Result<Facts, Error> {
    type ReminderRow = (
        Uuid,
        String,
        String,
        Uuid,
        String,
        DateTime<Utc>,
        Option<String>,
    );
    let reminders: Vec<ReminderRow> = sqlx::query_as(
        "SELECT a.application_id, a.company, a.role, r.reminder_id, r.kind, r.due_at, r.note
         FROM reminders r JOIN applications a ON a.application_id = r.application_id
         WHERE r.tenant_id = $1 AND r.user_id = $2 AND r.status = 'scheduled'
         ORDER BY r.due_at LIMIT 500",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .fetch_all(pool)
    .await?;
    type InterviewRow = (Uuid, String, String, Uuid, String, DateTime<Utc>);
    let interviews: Vec<InterviewRow> = sqlx::query_as(
        "SELECT a.application_id, a.company, a.role, i.interview_id, i.kind, i.scheduled_at
         FROM interviews i JOIN applications a ON a.application_id = i.application_id
         WHERE a.tenant_id = $1 AND a.user_id = $2 AND i.outcome = 'pending'
           AND i.scheduled_at > now()
         ORDER BY i.scheduled_at LIMIT 500",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .fetch_all(pool)
    .await?;
    type AppliedRow = (Uuid, String, String, DateTime<Utc>);
    let applied: Vec<AppliedRow> = sqlx::query_as(
        "SELECT application_id, company, role, COALESCE(applied_at, status_changed_at)
         FROM applications
         WHERE tenant_id = $1 AND user_id = $2 AND status = 'applied'
         ORDER BY 4 LIMIT 500",
    )
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .fetch_all(pool)
    .await?;
    let about = |application_id, company, role| About {
        application_id,
        company,
        role,
    };
    Ok(Facts {
        reminders: reminders
            .into_iter()
            .map(
                |(id, company, role, reminder_id, kind, due_at, note)| ScheduledReminder {
                    about: about(id, company, role),
                    reminder_id,
                    follow_up: kind == ReminderKind::FollowUp.as_str(),
                    due_at,
                    note,
                },
            )
            .collect(),
        interviews: interviews
            .into_iter()
            .map(
                |(id, company, role, interview_id, kind, scheduled_at)| PendingInterview {
                    about: about(id, company, role),
                    interview_id,
                    kind,
                    scheduled_at,
                },
            )
            .collect(),
        applied: applied
            .into_iter()
            .map(|(id, company, role, since)| Applied {
                about: about(id, company, role),
                since,
            })
            .collect(),
    })
}
