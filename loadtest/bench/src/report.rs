//! The bench's figures: printed for a reader, written as JSON (`--json`), and
//! handed to the gate. The floor arithmetic lives here: `hops x hop +
//! transactions x step`, once with the physical hop and once with the platform's.

use std::time::Duration;

use serde_json::{Value, json};

use crate::gate::Measured;
use crate::stats::ms;
use crate::work::{Counters, PerSaga};

/// Kafka hops of one checkout: the start command, then a command and a reply per step.
pub const HOPS: u32 = 1 + 2 * 6;
/// Transactions of one checkout: the gateway's, the orchestrator's start and one per
/// reply, and one per participant command.
pub const TRANSACTIONS: u32 = 1 + 1 + 6 + 6;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pcts {
    pub p50: Duration,
    pub p99: Duration,
}

/// The measured parts of the floor.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    pub physical_hop: Pcts,
    pub platform_hop: Pcts,
    pub step: Pcts,
}

impl Floor {
    fn of(hop: Pcts, step: Pcts) -> Pcts {
        Pcts {
            p50: hop.p50 * HOPS + step.p50 * TRANSACTIONS,
            p99: hop.p99 * HOPS + step.p99 * TRANSACTIONS,
        }
    }

    /// With the physical hop: what the broker, the network and PostgreSQL cost.
    pub fn physical(&self) -> Pcts {
        Self::of(self.physical_hop, self.step)
    }

    /// With the platform's client settings.
    pub fn platform(&self) -> Pcts {
        Self::of(self.platform_hop, self.step)
    }
}

/// CPU over the load phase; `None` where it could not be read.
#[derive(Debug, Clone, Default)]
pub struct Cpu {
    pub secs: f64,
    /// This process: the services, the load generator, and the mock broker if used.
    pub bench: Option<Duration>,
    /// PostgreSQL backends connected to the bench's databases.
    pub pg_backends: Option<Duration>,
    /// PostgreSQL's own processes (WAL writer, checkpointer, ...): the whole server's.
    pub pg_server: Option<Duration>,
    /// The local broker process (`--broker local`).
    pub broker: Option<Duration>,
}

pub struct Report {
    pub broker: String,
    pub count: usize,
    pub offered: f64,
    pub sustained: f64,
    pub completed: usize,
    pub other_terminal: usize,
    pub rejected: usize,
    pub unfinished: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub floor: Floor,
    pub work: Option<PerSaga>,
    pub work_secs: f64,
    pub idle_secs: f64,
    pub bench_queries: u64,
    pub cpu: Cpu,
}

fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        return 0.0;
    }
    a.as_nanos() as f64 / b.as_nanos() as f64
}

fn ms_f(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

fn per_saga_ms(d: Option<Duration>, sagas: usize) -> Option<f64> {
    d.filter(|_| sagas > 0).map(|d| ms_f(d) / sagas as f64)
}

fn opt_secs(d: Option<Duration>) -> String {
    d.map_or_else(
        || "not readable".into(),
        |d| format!("{:.2} s", d.as_secs_f64()),
    )
}

fn counters_json(c: &Counters) -> Value {
    json!({
        "commits": c.commits, "rows_inserted": c.inserted, "rows_updated": c.updated,
        "rows_deleted": c.deleted, "rows": c.rows(), "wal_bytes": c.wal_bytes,
    })
}

fn counters_line(c: &Counters) -> String {
    format!(
        "{:.1} commits, {:.1} rows ({:.1} inserted, {:.1} updated, {:.1} deleted), {:.1} KiB WAL",
        c.commits,
        c.rows(),
        c.inserted,
        c.updated,
        c.deleted,
        c.wal_bytes / 1024.0
    )
}

impl Report {
    pub fn sustained_ratio(&self) -> f64 {
        if self.offered > 0.0 {
            self.sustained / self.offered
        } else {
            0.0
        }
    }

    /// CPU of this process plus the bench databases' backends, per completed saga.
    fn cpu_ms_per_saga(&self) -> Option<f64> {
        let total = self.cpu.bench? + self.cpu.pg_backends?;
        per_saga_ms(Some(total), self.completed)
    }

    pub fn measured(&self) -> Measured {
        Measured {
            completed: self.completed,
            sustained_ratio: self.sustained_ratio(),
            p50_physical_floor_ratio: ratio(self.p50, self.floor.physical().p50),
            p99_ms: ms_f(self.p99),
            rows_per_saga: self.work.map(|w| w.gross.rows()),
            cpu_ms_per_saga: self.cpu_ms_per_saga(),
        }
    }

    pub fn print(&self) {
        let (f, physical, platform) = (&self.floor, self.floor.physical(), self.floor.platform());
        println!(
            "floor parts: physical hop p50 {} p99 {} | platform hop p50 {} p99 {} | pg step tx p50 {} p99 {}",
            ms(f.physical_hop.p50),
            ms(f.physical_hop.p99),
            ms(f.platform_hop.p50),
            ms(f.platform_hop.p99),
            ms(f.step.p50),
            ms(f.step.p99)
        );
        println!(
            "checkouts: {} completed, {} other terminal, {} rejected, {} unfinished",
            self.completed, self.other_terminal, self.rejected, self.unfinished
        );
        println!(
            "throughput: {:.1} sagas/s sustained (offered {:.1}/s, ratio {:.3})",
            self.sustained,
            self.offered,
            self.sustained_ratio()
        );
        println!(
            "end-to-end: p50 {} p95 {} p99 {} max {}",
            ms(self.p50),
            ms(self.p95),
            ms(self.p99),
            ms(self.max)
        );
        for (name, floor) in [("physical", physical), ("platform", platform)] {
            println!(
                "{name} floor ({HOPS} hops + {TRANSACTIONS} transactions): p50 {} p99 {} => ratio p50 {:.2}x p99 {:.2}x",
                ms(floor.p50),
                ms(floor.p99),
                ratio(self.p50, floor.p50),
                ratio(self.p99, floor.p99)
            );
        }
        println!(
            "platform client settings cost: {} per saga at p50 (platform floor - physical floor)",
            ms(platform.p50.saturating_sub(physical.p50))
        );
        match &self.work {
            Some(w) => {
                println!(
                    "work per completed saga ({:.0} s window, {} bench queries taken out): {}",
                    self.work_secs,
                    self.bench_queries,
                    counters_line(&w.gross)
                );
                if let Some(net) = &w.net {
                    println!(
                        "  net of the idle background ({:.0} s idle window): {}",
                        self.idle_secs,
                        counters_line(net)
                    );
                }
                println!("  (WAL is the whole server's: other clients' writes count too)");
            }
            None => println!("work per saga: no completed sagas"),
        }
        let c = &self.cpu;
        println!(
            "CPU over the load phase ({:.1} s): this process {}, PostgreSQL backends {}, PostgreSQL server processes {}{}",
            c.secs,
            opt_secs(c.bench),
            opt_secs(c.pg_backends),
            opt_secs(c.pg_server),
            match (self.broker.as_str(), c.broker) {
                ("local", b) => format!(", broker process {}", opt_secs(b)),
                ("mock", _) => " (the mock broker runs inside this process)".into(),
                _ => ", broker not on this machine".into(),
            }
        );
        if let Some(per) = self.cpu_ms_per_saga() {
            println!("  per completed saga: {per:.2} ms CPU (this process + PostgreSQL backends)");
        }
    }

    pub fn json(&self) -> Value {
        let (physical, platform) = (self.floor.physical(), self.floor.platform());
        let pcts = |p: Pcts| json!({"p50": ms_f(p.p50), "p99": ms_f(p.p99)});
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        json!({
            "broker": self.broker,
            "count": self.count,
            "offered_rate": self.offered,
            "sustained_rate": self.sustained,
            "sustained_ratio": self.sustained_ratio(),
            "completed": self.completed,
            "other_terminal": self.other_terminal,
            "rejected": self.rejected,
            "unfinished": self.unfinished,
            "latency_ms": {
                "p50": ms_f(self.p50), "p95": ms_f(self.p95),
                "p99": ms_f(self.p99), "max": ms_f(self.max),
            },
            "floor": {
                "hops": HOPS, "transactions": TRANSACTIONS,
                "hop_physical_ms": pcts(self.floor.physical_hop),
                "hop_platform_ms": pcts(self.floor.platform_hop),
                "pg_step_ms": pcts(self.floor.step),
                "physical_ms": pcts(physical),
                "platform_ms": pcts(platform),
            },
            "ratios": {
                "p50_physical_floor": ratio(self.p50, physical.p50),
                "p50_platform_floor": ratio(self.p50, platform.p50),
                "p99_physical_floor": ratio(self.p99, physical.p99),
                "p99_platform_floor": ratio(self.p99, platform.p99),
            },
            "per_saga": self.work.map(|w| json!({
                "gross": counters_json(&w.gross),
                "net": w.net.as_ref().map(counters_json),
                "window_secs": self.work_secs,
                "idle_window_secs": self.idle_secs,
                "bench_queries": self.bench_queries,
            })),
            "cpu": {
                "load_phase_secs": self.cpu.secs,
                "bench_process_secs": secs(self.cpu.bench),
                "postgres_backends_secs": secs(self.cpu.pg_backends),
                "postgres_server_secs": secs(self.cpu.pg_server),
                "broker_process_secs": secs(self.cpu.broker),
                "per_saga_ms": {
                    "bench_process": per_saga_ms(self.cpu.bench, self.completed),
                    "postgres_backends": per_saga_ms(self.cpu.pg_backends, self.completed),
                    "broker_process": per_saga_ms(self.cpu.broker, self.completed),
                    "bench_and_postgres_backends": self.cpu_ms_per_saga(),
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcts(p50: u64, p99: u64) -> Pcts {
        Pcts {
            p50: Duration::from_micros(p50),
            p99: Duration::from_micros(p99),
        }
    }

    fn report() -> Report {
        Report {
            broker: "mock".into(),
            count: 600,
            offered: 20.0,
            sustained: 19.0,
            completed: 600,
            other_terminal: 0,
            rejected: 0,
            unfinished: 0,
            p50: Duration::from_millis(90),
            p95: Duration::from_millis(110),
            p99: Duration::from_millis(120),
            max: Duration::from_millis(130),
            floor: Floor {
                physical_hop: pcts(1_000, 2_000),
                platform_hop: pcts(4_000, 7_000),
                step: pcts(500, 3_000),
            },
            work: None,
            work_secs: 0.0,
            idle_secs: 0.0,
            bench_queries: 0,
            cpu: Cpu {
                secs: 30.0,
                bench: Some(Duration::from_secs(6)),
                pg_backends: Some(Duration::from_secs(3)),
                pg_server: None,
                broker: None,
            },
        }
    }

    #[test]
    fn floors_are_hops_times_hop_plus_transactions_times_step() {
        let r = report();
        // 13 x 1 ms + 14 x 0.5 ms = 20 ms; 13 x 4 ms + 14 x 0.5 ms = 59 ms.
        assert_eq!(r.floor.physical(), pcts(20_000, 13 * 2_000 + 14 * 3_000));
        assert_eq!(r.floor.platform().p50, Duration::from_millis(59));
    }

    #[test]
    fn measured_gives_the_gate_its_units() {
        let m = report().measured();
        assert_eq!(m.sustained_ratio, 0.95);
        assert_eq!(m.p50_physical_floor_ratio, 4.5);
        assert_eq!(m.p99_ms, 120.0);
        assert_eq!(m.rows_per_saga, None);
        // (6 s + 3 s) / 600 sagas.
        assert_eq!(m.cpu_ms_per_saga, Some(15.0));
        let blind = Report {
            cpu: Cpu {
                pg_backends: None,
                ..report().cpu
            },
            ..report()
        };
        assert_eq!(blind.measured().cpu_ms_per_saga, None);
    }

    #[test]
    fn json_carries_floors_ratios_and_the_cpu_split() {
        let j = report().json();
        assert_eq!(j["floor"]["physical_ms"]["p50"], 20.0);
        assert_eq!(j["floor"]["platform_ms"]["p50"], 59.0);
        assert_eq!(j["ratios"]["p50_physical_floor"], 4.5);
        assert_eq!(j["cpu"]["per_saga_ms"]["bench_process"], 10.0);
        assert_eq!(j["cpu"]["postgres_server_secs"], Value::Null);
        assert_eq!(j["sustained_ratio"], 0.95);
    }
}
