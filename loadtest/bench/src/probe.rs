//! What the bench reads around the load phase: CPU of this process, of the
//! PostgreSQL processes (found through `pg_stat_activity`, read from `/proc`, so
//! only when the server runs on this machine) and of the local broker process; and
//! PostgreSQL's work counters ([`crate::work`]).

use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use crate::cpu::{self, Ticks};
use crate::report::Cpu;
use crate::work::{self, Counters};

pub struct Probe {
    admin: PgConnection,
    databases: Vec<String>,
    broker_pid: Option<u32>,
}

/// CPU counters at the start of a phase.
pub struct Mark {
    at: Instant,
    bench: Option<Duration>,
    backends: Ticks,
    server: Ticks,
    broker: Option<u64>,
}

impl Probe {
    /// `databases`: the bench's service databases; `broker_pid`: the local broker.
    pub async fn connect(
        server_url: &str,
        databases: Vec<String>,
        broker_pid: Option<u32>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            admin: PgConnection::connect(server_url).await?,
            databases,
            broker_pid,
        })
    }

    /// Pids of the backends on the bench's databases, and of the server's own
    /// processes (no database: WAL writer, checkpointer, background writer, ...).
    async fn pg_pids(&mut self) -> sqlx::Result<(Vec<u32>, Vec<u32>)> {
        let rows: Vec<(i32, bool)> = sqlx::query_as(
            "SELECT pid, datname IS NOT NULL FROM pg_stat_activity
             WHERE datname = ANY($1) OR (datname IS NULL AND backend_type <> 'client backend')",
        )
        .bind(&self.databases)
        .fetch_all(&mut self.admin)
        .await?;
        let pids = |ours: bool| {
            rows.iter()
                .filter(|r| r.1 == ours)
                .filter_map(|r| u32::try_from(r.0).ok())
                .collect()
        };
        Ok((pids(true), pids(false)))
    }

    pub async fn mark(&mut self) -> anyhow::Result<Mark> {
        let (backends, server) = self.pg_pids().await?;
        Ok(Mark {
            at: Instant::now(),
            bench: cpu::this_process(),
            backends: Ticks::read(&backends, "postgres"),
            server: Ticks::read(&server, "postgres"),
            broker: self.broker_pid.and_then(cpu::read).map(|s| s.ticks),
        })
    }

    /// CPU used since `before`, by process group. Backends that came and went in
    /// between are missed (the bench's pools keep theirs open).
    pub async fn cpu_since(&mut self, before: &Mark) -> anyhow::Result<Cpu> {
        let (mut backends, mut server) = self.pg_pids().await?;
        // Processes seen at the start but gone from the view now still count if alive.
        backends.extend(before.backends.pids());
        server.extend(before.server.pids());
        let (backends, server) = (
            Ticks::read(&backends, "postgres"),
            Ticks::read(&server, "postgres"),
        );
        let readable = |now: Ticks, then: &Ticks| (!now.is_empty()).then(|| now.since(then));
        Ok(Cpu {
            secs: before.at.elapsed().as_secs_f64(),
            bench: cpu::this_process()
                .zip(before.bench)
                .map(|(now, then)| now.saturating_sub(then)),
            pg_backends: readable(backends, &before.backends),
            pg_server: readable(server, &before.server),
            broker: self
                .broker_pid
                .and_then(cpu::read)
                .zip(before.broker)
                .map(|(now, then)| cpu::ticks(now.ticks.saturating_sub(then))),
        })
    }

    pub async fn counters(&mut self) -> anyhow::Result<Counters> {
        Ok(work::read(&mut self.admin, &self.databases).await?)
    }
}
