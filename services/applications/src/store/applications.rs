//! The `applications` table (and `status_changes`, and the status event).

use chrono::{DateTime, Utc};
use sagaflow_bus::traceparent::MessageTrace;
use sagaflow_bus::{Outgoing, outbox};
use sagaflow_events::messages::ApplicationStatusChanged;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Error, Origin, Owner, bad_text};
use crate::application::{Application, ApplicationFields, ApplicationInput};
use crate::status::{self, Status};

const COLUMNS: &str = "application_id, company, role, job_description, location, remote, \
     salary_min, salary_max, salary_currency, stack, status, source_url, notes, applied_at, \
     status_changed_at, created_at, updated_at";

/// Like [`COLUMNS`] without the (large) job description, for lists.
const LIST_COLUMNS: &str = "application_id, company, role, '' AS job_description, location, \
     remote, salary_min, salary_max, salary_currency, stack, status, source_url, notes, \
     applied_at, status_changed_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct Row {
    application_id: Uuid,
    company: String,
    role: String,
    job_description: String,
    location: Option<String>,
    remote: bool,
    salary_min: Option<i64>,
    salary_max: Option<i64>,
    salary_currency: Option<String>,
    stack: Vec<String>,
    status: String,
    source_url: Option<String>,
    notes: Option<String>,
    applied_at: Option<DateTime<Utc>>,
    status_changed_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Application {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> Result<Self, sqlx::Error> {
        let status = Status::parse(&r.status).ok_or_else(|| bad_text("status", &r.status))?;
        Ok(Application {
            id: r.application_id,
            fields: ApplicationFields {
                company: r.company,
                role: r.role,
                job_description: r.job_description,
                location: r.location,
                remote: r.remote,
                salary_min: r.salary_min,
                salary_max: r.salary_max,
                salary_currency: r.salary_currency,
                stack: r.stack,
                source_url: r.source_url,
                notes: r.notes,
                applied_at: r.applied_at,
            },
            status,
            status_changed_at: r.status_changed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn rows(rows: Vec<Row>) -> Result<Vec<Application>, sqlx::Error> {
    rows.into_iter().map(Application::try_from).collect()
}

/// Stores a new application and its first status (with its event).
pub async fn create(
    pool: &PgPool,
    owner: &Owner,
    mut fields: ApplicationFields,
    status: Status,
    origin: &Origin,
) -> Result<Application, Error> {
    let now = Utc::now();
    if status.implies_applied() && fields.applied_at.is_none() {
        fields.applied_at = Some(now);
    }
    let mut tx = pool.begin().await?;
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO applications (application_id, tenant_id, user_id, company, role,
             job_description, location, remote, salary_min, salary_max, salary_currency, stack,
             status, source_url, notes, applied_at, status_changed_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $17)
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(&fields.company)
    .bind(&fields.role)
    .bind(&fields.job_description)
    .bind(&fields.location)
    .bind(fields.remote)
    .bind(fields.salary_min)
    .bind(fields.salary_max)
    .bind(&fields.salary_currency)
    .bind(&fields.stack)
    .bind(status.as_str())
    .bind(&fields.source_url)
    .bind(&fields.notes)
    .bind(fields.applied_at)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let app = Application::try_from(row)?;
    record_status(&mut tx, owner, &app, None, origin).await?;
    tx.commit().await?;
    Ok(app)
}

/// The owner's application `id`, if any.
pub async fn get(pool: &PgPool, owner: &Owner, id: Uuid) -> Result<Option<Application>, Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM applications
         WHERE application_id = $1 AND tenant_id = $2 AND user_id = $3"
    ))
    .bind(id)
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Application::try_from).transpose()?)
}

/// How a list is ordered in SQL (`priority` is ordered by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Most recently updated first.
    Updated,
    /// Most recently created first.
    Created,
}

/// Which applications to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Any of these statuses (empty: all).
    pub statuses: Vec<Status>,
    /// Company contains this text (case-insensitive).
    pub company: Option<String>,
}

/// The owner's applications matching `filter` (without job descriptions), in
/// `order`, `page` = (limit, offset) or all; and how many match in total.
pub async fn list(
    pool: &PgPool,
    owner: &Owner,
    filter: &Filter,
    order: Order,
    page: Option<(i64, i64)>,
) -> Result<(Vec<Application>, i64), Error> {
    let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
    let company = filter
        .company
        .as_deref()
        .map(|c| format!("%{}%", escape_like(c)));
    let where_ = "tenant_id = $1 AND user_id = $2
         AND (cardinality($3::text[]) = 0 OR status = ANY($3))
         AND ($4::text IS NULL OR company ILIKE $4)";
    let order_by = match order {
        Order::Updated => "updated_at DESC, application_id DESC",
        Order::Created => "created_at DESC, application_id DESC",
    };
    let (limit, offset) = page.unwrap_or((i64::MAX, 0));
    let found: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {LIST_COLUMNS} FROM applications WHERE {where_}
         ORDER BY {order_by} LIMIT $5 OFFSET $6"
    ))
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(&statuses)
    .bind(&company)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM applications WHERE {where_}"))
            .bind(&owner.tenant_id)
            .bind(&owner.user_id)
            .bind(&statuses)
            .bind(&company)
            .fetch_one(pool)
            .await?;
    Ok((rows(found)?, total))
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Applies `input` to the owner's application `id`: fields, and a status change
/// when the status differs (checked against the allowed transitions; recorded with
/// its event in the same transaction).
pub async fn update(
    pool: &PgPool,
    owner: &Owner,
    id: Uuid,
    input: ApplicationInput,
    origin: &Origin,
) -> Result<Application, Error> {
    let mut tx = pool.begin().await?;
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM applications
         WHERE application_id = $1 AND tenant_id = $2 AND user_id = $3 FOR UPDATE"
    ))
    .bind(id)
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let current = Application::try_from(row.ok_or(Error::NotFound("application"))?)?;
    let mut fields = current.fields.clone();
    let requested = input.apply(&mut fields)?;
    let to = requested.unwrap_or(current.status);
    let changed = status::transition(current.status, to)?;
    let now = Utc::now();
    if changed && to.implies_applied() && fields.applied_at.is_none() {
        fields.applied_at = Some(now);
    }
    let row: Row = sqlx::query_as(&format!(
        "UPDATE applications SET company = $2, role = $3, job_description = $4, location = $5,
             remote = $6, salary_min = $7, salary_max = $8, salary_currency = $9, stack = $10,
             status = $11, source_url = $12, notes = $13, applied_at = $14,
             status_changed_at = CASE WHEN $15 THEN $16 ELSE status_changed_at END,
             updated_at = $16
         WHERE application_id = $1
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&fields.company)
    .bind(&fields.role)
    .bind(&fields.job_description)
    .bind(&fields.location)
    .bind(fields.remote)
    .bind(fields.salary_min)
    .bind(fields.salary_max)
    .bind(&fields.salary_currency)
    .bind(&fields.stack)
    .bind(to.as_str())
    .bind(&fields.source_url)
    .bind(&fields.notes)
    .bind(fields.applied_at)
    .bind(changed)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let app = Application::try_from(row)?;
    if changed {
        record_status(&mut tx, owner, &app, Some(current.status), origin).await?;
    }
    tx.commit().await?;
    Ok(app)
}

/// Deletes the owner's application `id` (with its interviews, documents and
/// history); whether it existed.
pub async fn delete(pool: &PgPool, owner: &Owner, id: Uuid) -> Result<bool, Error> {
    let done = sqlx::query(
        "DELETE FROM applications WHERE application_id = $1 AND tenant_id = $2 AND user_id = $3",
    )
    .bind(id)
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The history row and the `ApplicationStatusChanged` outbox message of `app`
/// entering its current status.
async fn record_status(
    tx: &mut PgConnection,
    owner: &Owner,
    app: &Application,
    from: Option<Status>,
    origin: &Origin,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO status_changes (application_id, from_status, to_status, changed_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(app.id)
    .bind(from.map(Status::as_str))
    .bind(app.status.as_str())
    .bind(app.status_changed_at)
    .execute(&mut *tx)
    .await?;
    let event = ApplicationStatusChanged {
        application_id: app.id,
        tenant_id: owner.tenant_id.clone(),
        user_id: owner.user_id.clone(),
        from_status: from.map(|s| s.as_str().to_owned()),
        to_status: app.status.as_str().to_owned(),
        company: app.fields.company.clone(),
        role: app.fields.role.clone(),
        changed_at_ms: app.status_changed_at.timestamp_millis(),
    };
    let mut message = Outgoing::new(&owner.tenant_id, None, app.id.to_string(), &event)?;
    MessageTrace::from_traceparent(origin.traceparent.as_deref())
        .child()
        .write_to(&mut message.envelope);
    if let Some(id) = origin
        .request_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok())
    {
        message.envelope.correlation_id = id;
    }
    outbox::enqueue(tx, &[message]).await?;
    metrics::counter!("sagaflow_applications_status_changes_total", "to" => app.status.as_str())
        .increment(1);
    Ok(())
}
