//! What every service's erasure consumer shares (`UserErasureRequested` on
//! `gateway.events`): how a tombstone names a user without keeping the id
//! ([`SUBJECT_SQL`]), when a saga started ([`saga_started`]) so a late command of a
//! saga begun before the erasure can be refused ([`started_before`]), the request's
//! time kept sane ([`requested_at`]), and the per-user advisory lock that orders an
//! erasure against writes ([`lock`]). The tombstone tables and what is deleted stay
//! in each service.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// SQL naming a user in a tombstone, from `$1` (tenant) and `$2` (user): sha256 of
/// `<len(tenant)>:<tenant>:<user>`, hex (the tenant's length first, so no two
/// (tenant, user) pairs share it).
pub const SUBJECT_SQL: &str =
    "encode(sha256(convert_to(length($1)::TEXT || ':' || $1 || ':' || $2, 'UTF8')), 'hex')";

/// When a saga started: the time in its UUIDv7 id; `None` for other versions.
pub fn saga_started(saga_id: Uuid) -> Option<DateTime<Utc>> {
    let (seconds, nanos) = saga_id.get_timestamp()?.to_unix();
    Utc.timestamp_opt(i64::try_from(seconds).ok()?, nanos)
        .single()
}

/// Whether saga `saga_id` started at or before `erased_at` (a saga whose start is
/// unknown, not a UUIDv7, counts as started before): its late commands must not
/// write the user's data back.
pub fn started_before(saga_id: Uuid, erased_at: DateTime<Utc>) -> bool {
    saga_started(saga_id).is_none_or(|started| started <= erased_at)
}

/// The time an erasure request names, kept within a minute of now (a clock far
/// ahead must not refuse the user's future sagas).
pub fn requested_at(requested_at_ms: i64) -> DateTime<Utc> {
    let now = Utc::now();
    match Utc.timestamp_millis_opt(requested_at_ms).single() {
        Some(at) => at.min(now + chrono::Duration::minutes(1)),
        None => now,
    }
}

/// Takes (tenant, user)'s advisory lock in `scope` (the service) until the
/// transaction ends: shared for a write of their data, exclusive for their erasure.
pub async fn lock(
    conn: &mut PgConnection,
    scope: &str,
    tenant_id: &str,
    user_id: &str,
    exclusive: bool,
) -> Result<(), sqlx::Error> {
    let sql = if exclusive {
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
    } else {
        "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))"
    };
    sqlx::query(sql)
        .bind(format!("{scope}:{}:{tenant_id}:{user_id}", tenant_id.len()))
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saga_starts_at_its_uuidv7_time_and_others_count_as_before() {
        let before = Utc::now() - chrono::Duration::milliseconds(1);
        let saga = Uuid::now_v7();
        let started = saga_started(saga).expect("a v7 id has a time");
        assert!(started >= before && started <= Utc::now(), "{started}");
        assert!(started_before(saga, started));
        assert!(!started_before(saga, before));
        assert!(
            started_before(Uuid::new_v4(), before),
            "unknown start: refused"
        );
    }

    #[test]
    fn a_request_time_far_ahead_is_clamped_to_now_plus_a_minute() {
        let far = Utc::now() + chrono::Duration::days(365);
        let at = requested_at(far.timestamp_millis());
        assert!(at <= Utc::now() + chrono::Duration::minutes(1) + chrono::Duration::seconds(1));
        let past = Utc::now() - chrono::Duration::hours(1);
        assert_eq!(
            requested_at(past.timestamp_millis()).timestamp_millis(),
            past.timestamp_millis()
        );
    }
}
