//! How a handler says a message failed, which class a database error belongs to,
//! and the retry schedules.
//!
//! Classes, by what retrying can fix:
//! - **unavailable** ([`Failure::Unavailable`]): the database cannot serve us right
//!   now (a lost or refused connection, a failover, a full pool, a serialization
//!   failure, a deadlock, a lock timeout). Nothing is wrong with the message: the
//!   consumer rolls back and retries with capped exponential backoff and jitter,
//!   without a bound and never dead-lettering (a shutdown stops the wait).
//! - **transient** ([`Failure::Transient`]): a problem the handler signals that should
//!   pass (a payment not settled yet); retried per [`Backoff`], bounded by
//!   [`Backoff::max_attempts`]; past the bound the message is treated as poison.
//! - **permanent**: a business outcome (payment declined, out of stock). This is not
//!   an error at all: the handler commits and returns a failure *reply* event so the
//!   saga compensates.
//! - **poison** ([`Failure::Poison`]): undecodable or unprocessable, or data the
//!   database refuses deterministically (SQLSTATE class 22 data exceptions such as a
//!   NUL byte, class 23 constraint violations the handler did not catch, class 42
//!   bugs): it goes to the topic's dead-letter topic with the reason at once, and the
//!   partition keeps flowing.
//!
//! [`classify`] maps a `sqlx::Error` to its [`Class`]; `From<sqlx::Error> for
//! Failure` uses it, so a handler's `?` on a query does the right thing.

use std::time::Duration;

use rand::Rng;

/// Why a handler could not handle a message.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The database (or another dependency) is unreachable or overloaded: retried
    /// without a bound, never dead-lettered.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("transient: {0}")]
    Transient(String),
    #[error("poison: {0}")]
    Poison(String),
}

impl Failure {
    /// The class of this failure.
    pub fn class(&self) -> Class {
        match self {
            Failure::Unavailable(_) => Class::Unavailable,
            Failure::Transient(_) => Class::Transient,
            Failure::Poison(_) => Class::Poison,
        }
    }

    /// The reason, without the class prefix.
    pub fn reason(&self) -> &str {
        match self {
            Failure::Unavailable(r) | Failure::Transient(r) | Failure::Poison(r) => r,
        }
    }
}

/// What retrying can do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Retry until it works (or shutdown); never dead-letter.
    Unavailable,
    /// Retry a bounded number of times, then dead-letter.
    Transient,
    /// Dead-letter at once.
    Poison,
}

impl Class {
    /// The `class` label of `sagaflow_consumer_retries_total`.
    pub fn label(self) -> &'static str {
        match self {
            Class::Unavailable => "unavailable",
            Class::Transient => "transient",
            Class::Poison => "poison",
        }
    }
}

/// The class of a database error: connection trouble and contention are
/// [`Class::Unavailable`], deterministic data errors and bugs are [`Class::Poison`],
/// anything else [`Class::Transient`].
pub fn classify(err: &sqlx::Error) -> Class {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .map_or(Class::Transient, |code| classify_sqlstate(&code)),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        // A bad connection setting affects every message alike: wait for the fix
        // rather than dead-letter everything.
        | sqlx::Error::Configuration(_) => Class::Unavailable,
        sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Encode(_)
        | sqlx::Error::Decode(_) => Class::Poison,
        _ => Class::Transient,
    }
}

/// The class of a PostgreSQL SQLSTATE (five characters).
pub fn classify_sqlstate(code: &str) -> Class {
    match code {
        // serialization failure, deadlock, lock not available
        "40001" | "40P01" | "55P03" => Class::Unavailable,
        // admin shutdown, crash shutdown, cannot connect now
        "57P01" | "57P02" | "57P03" => Class::Unavailable,
        _ => match code.get(..2) {
            // connection exception; insufficient resources (53300 too many connections)
            Some("08" | "53") => Class::Unavailable,
            // data exception (22021 NUL byte, 22P02 bad text), integrity constraint
            // violation, syntax error or access rule violation (a bug)
            Some("22" | "23" | "42") => Class::Poison,
            _ => Class::Transient,
        },
    }
}

/// A database error as a failure of its class, with the SQLSTATE in the reason.
pub fn from_database(context: &str, err: &sqlx::Error) -> Failure {
    let reason = match err {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{context} (SQLSTATE {code}): {err}"),
            None => format!("{context}: {err}"),
        },
        _ => format!("{context}: {err}"),
    };
    match classify(err) {
        Class::Unavailable => Failure::Unavailable(reason),
        Class::Transient => Failure::Transient(reason),
        Class::Poison => Failure::Poison(reason),
    }
}

impl From<sqlx::Error> for Failure {
    fn from(err: sqlx::Error) -> Self {
        from_database("database", &err)
    }
}

impl From<sagaflow_events::Error> for Failure {
    fn from(err: sagaflow_events::Error) -> Self {
        Failure::Poison(format!("contract: {err}"))
    }
}

/// Exponential backoff with jitter, bounded in attempts.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    /// Attempts before a transient failure counts as poison (ignored for
    /// unavailability, which is waited out).
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(20),
            max: Duration::from_secs(2),
            max_attempts: 6,
        }
    }
}

impl Backoff {
    /// The default schedule for waiting out an unavailable database: 100 ms
    /// doubling to at most 5 s, without a bound on attempts.
    pub const UNAVAILABLE: Backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(5),
        max_attempts: u32::MAX,
    };

    /// Delay before retry number `attempt` (1-based): a random duration in
    /// `[ceiling/2, ceiling]` where `ceiling = min(max, initial * 2^(attempt-1))`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .initial
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max);
        let half = ceiling / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            max_attempts: 10,
        };
        for _ in 0..100 {
            let first = backoff.delay(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff.delay(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = backoff.delay(30);
            assert!(late <= Duration::from_millis(1000) && late >= Duration::from_millis(500));
        }
    }

    #[test]
    fn unavailable_backoff_is_capped_for_any_attempt() {
        for attempt in [1, 10, 1_000, u32::MAX] {
            assert!(Backoff::UNAVAILABLE.delay(attempt) <= Duration::from_secs(5));
        }
    }

    #[test]
    fn sqlstate_table() {
        use Class::*;
        let table = [
            // connection exceptions
            ("08000", Unavailable),
            ("08003", Unavailable),
            ("08006", Unavailable),
            ("08001", Unavailable),
            ("08P01", Unavailable),
            // contention
            ("40001", Unavailable),
            ("40P01", Unavailable),
            ("55P03", Unavailable),
            // operator intervention
            ("57P01", Unavailable),
            ("57P02", Unavailable),
            ("57P03", Unavailable),
            // insufficient resources
            ("53300", Unavailable),
            ("53100", Unavailable),
            ("53200", Unavailable),
            // data exceptions
            ("22021", Poison),
            ("22P02", Poison),
            ("22001", Poison),
            ("22P05", Poison),
            // constraint violations
            ("23505", Poison),
            ("23503", Poison),
            ("23502", Poison),
            ("23514", Poison),
            // bugs
            ("42P01", Poison),
            ("42703", Poison),
            ("42601", Poison),
            // the rest: bounded retries
            ("57014", Transient),
            ("40002", Transient),
            ("XX000", Transient),
            ("55000", Transient),
            ("", Transient),
        ];
        for (code, class) in table {
            assert_eq!(classify_sqlstate(code), class, "SQLSTATE {code:?}");
        }
    }

    #[test]
    fn driver_errors() {
        use Class::*;
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let table = [
            (sqlx::Error::Io(io()), Unavailable),
            (sqlx::Error::PoolTimedOut, Unavailable),
            (sqlx::Error::PoolClosed, Unavailable),
            (sqlx::Error::WorkerCrashed, Unavailable),
            (sqlx::Error::Protocol("unexpected eof".into()), Unavailable),
            (sqlx::Error::Tls("handshake".into()), Unavailable),
            (sqlx::Error::RowNotFound, Poison),
            (sqlx::Error::ColumnNotFound("x".into()), Poison),
            (sqlx::Error::Decode("bad".into()), Poison),
        ];
        for (err, class) in table {
            assert_eq!(classify(&err), class, "{err}");
        }
    }

    #[test]
    fn failures_keep_their_class_and_reason() {
        let failure = Failure::from(sqlx::Error::PoolTimedOut);
        assert_eq!(failure.class(), Class::Unavailable);
        assert!(failure.reason().starts_with("database: "), "{failure}");
        assert_eq!(
            Failure::from(sqlx::Error::RowNotFound).class(),
            Class::Poison
        );
    }
}
