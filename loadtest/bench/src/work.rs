//! Where the work goes: PostgreSQL's own counters (`pg_stat_database` summed over
//! the service databases the bench created, and the server's WAL position) read
//! before and after the load phase, and turned into figures per saga.
//!
//! Two things inflate a raw delta and are taken out of the *net* figures: the
//! bench's own polling of the orchestrator's log (it counts its queries), and the
//! platform's idle background (relays poll every 250 ms, timers, purges), measured
//! as a rate over an idle window after the load and scaled to the load window.
//! The WAL position is the whole server's, so other clients' writes count too.

use std::ops::Sub;

use sqlx::PgConnection;

/// Cumulative counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    pub commits: f64,
    pub inserted: f64,
    pub updated: f64,
    pub deleted: f64,
    pub wal_bytes: f64,
}

impl Sub for Counters {
    type Output = Counters;
    fn sub(self, o: Counters) -> Counters {
        Counters {
            commits: self.commits - o.commits,
            inserted: self.inserted - o.inserted,
            updated: self.updated - o.updated,
            deleted: self.deleted - o.deleted,
            wal_bytes: self.wal_bytes - o.wal_bytes,
        }
    }
}

impl Counters {
    fn map(self, f: impl Fn(f64) -> f64) -> Counters {
        Counters {
            commits: f(self.commits),
            inserted: f(self.inserted),
            updated: f(self.updated),
            deleted: f(self.deleted),
            wal_bytes: f(self.wal_bytes),
        }
    }

    /// Rows written: inserted + updated + deleted.
    pub fn rows(&self) -> f64 {
        self.inserted + self.updated + self.deleted
    }
}

/// Reads the counters of `databases` (statistics lag: a backend flushes them at
/// most once a second while busy, and within 10 s once idle).
pub async fn read(admin: &mut PgConnection, databases: &[String]) -> sqlx::Result<Counters> {
    let (commits, inserted, updated, deleted): (f64, f64, f64, f64) = sqlx::query_as(
        "SELECT coalesce(sum(xact_commit), 0)::float8, coalesce(sum(tup_inserted), 0)::float8,
                coalesce(sum(tup_updated), 0)::float8, coalesce(sum(tup_deleted), 0)::float8
         FROM pg_stat_database WHERE datname = ANY($1)",
    )
    .bind(databases)
    .fetch_one(&mut *admin)
    .await?;
    let (wal_bytes,): (f64,) =
        sqlx::query_as("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8")
            .fetch_one(&mut *admin)
            .await?;
    Ok(Counters {
        commits,
        inserted,
        updated,
        deleted,
        wal_bytes,
    })
}

/// A delta over a window of `secs` seconds.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub delta: Counters,
    pub secs: f64,
}

/// Figures per saga over the load window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerSaga {
    /// The raw delta minus the bench's own queries, divided by the sagas.
    pub gross: Counters,
    /// `gross` minus the idle background scaled to the load window (when measured).
    pub net: Option<Counters>,
}

/// `load` (minus `bench_queries` read-only transactions of the bench itself)
/// divided by `sagas`, and net of `idle`'s rate over the load window.
pub fn per_saga(
    load: Window,
    bench_queries: u64,
    idle: Option<Window>,
    sagas: usize,
) -> Option<PerSaga> {
    if sagas == 0 {
        return None;
    }
    let mut own = load.delta;
    own.commits -= bench_queries as f64;
    let n = sagas as f64;
    Some(PerSaga {
        gross: own.map(|v| v / n),
        net: idle
            .filter(|i| i.secs > 0.0)
            .map(|i| (own - i.delta.map(|v| v * load.secs / i.secs)).map(|v| v / n)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(commits: f64, inserted: f64, updated: f64, deleted: f64, wal: f64) -> Counters {
        Counters {
            commits,
            inserted,
            updated,
            deleted,
            wal_bytes: wal,
        }
    }

    #[test]
    fn per_saga_takes_out_the_bench_queries_and_the_idle_rate() {
        // 100 sagas over 40 s; the bench polled 400 times; idle: 10 s with 120
        // commits, 5 deletes and 8,000 WAL bytes (12 commits/s, 0.5 deletes/s).
        let load = Window {
            delta: counters(2_000.0, 9_000.0, 4_000.0, 300.0, 2_000_000.0),
            secs: 40.0,
        };
        let idle = Window {
            delta: counters(120.0, 0.0, 0.0, 5.0, 8_000.0),
            secs: 10.0,
        };
        let got = per_saga(load, 400, Some(idle), 100).expect("sagas");
        assert_eq!(got.gross, counters(16.0, 90.0, 40.0, 3.0, 20_000.0));
        // Idle over 40 s: 480 commits, 20 deletes, 32,000 WAL bytes.
        assert_eq!(got.net, Some(counters(11.2, 90.0, 40.0, 2.8, 19_680.0)));
        assert_eq!(got.gross.rows(), 133.0);
    }

    #[test]
    fn no_sagas_no_figures_and_no_idle_window_no_net() {
        let load = Window {
            delta: counters(10.0, 10.0, 10.0, 10.0, 10.0),
            secs: 1.0,
        };
        assert_eq!(per_saga(load, 0, None, 0), None);
        assert_eq!(per_saga(load, 0, None, 5).expect("sagas").net, None);
        let empty = Window {
            delta: Counters::default(),
            secs: 0.0,
        };
        assert_eq!(per_saga(load, 0, Some(empty), 5).expect("sagas").net, None);
    }
}
