//! The faults and when they happen: a schedule drawn from the run's seed, spread
//! over the load (`--kills` SIGKILLs of random processes, each started again after
//! a random 1–5 s; duplicate batches; poison messages; optional PostgreSQL
//! restarts), then carried out in time order while the load runs. In staging mode
//! a kill is `--kill-command` with `{target}` replaced by a service name, and the
//! platform restarts the instance itself; without a command kills are skipped.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::time::Instant;

use crate::databases::SERVICES;
use crate::error::{Error, Result};
use crate::fleet::Fleet;
use crate::messages::{self, Poison};

/// The checkout participants (`participants` in `--kill-targets`).
pub const PARTICIPANTS: [&str; 6] = [
    "inventory",
    "pricing",
    "payment",
    "order",
    "cart",
    "notification",
];

/// `--kill-targets` as process kinds (service names and `broker`).
pub fn resolve_targets(names: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match name {
            "all" => {
                out.extend(SERVICES.iter().map(|s| s.to_string()));
                out.push("broker".into());
            }
            "participants" => out.extend(PARTICIPANTS.iter().map(|s| s.to_string())),
            "broker" => out.push("broker".into()),
            service if SERVICES.contains(&service) => out.push(service.into()),
            other => {
                return Err(Error::Config(format!(
                    "--kill-targets: unknown `{other}` (all, participants, broker, or a service name)"
                )));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Kill,
    Duplicates(usize),
    Poison,
    PgRestart,
}

/// One SIGKILL (or kill command) the run did.
#[derive(Debug, Clone, Serialize)]
pub struct Kill {
    pub at_secs: f64,
    pub process: String,
    pub kind: String,
    /// None in staging mode (the platform restarts it).
    pub restarted_after_ms: Option<u64>,
}

/// Everything injected.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Injected {
    pub kills: Vec<Kill>,
    pub kills_skipped: Vec<String>,
    pub duplicates: Vec<String>,
    pub poison: Vec<Poison>,
    pub pg_restarts: u32,
    /// Faults that could not be injected (and why).
    pub errors: Vec<String>,
}

impl Injected {
    pub fn kills_by_kind(&self) -> BTreeMap<String, u32> {
        let mut out = BTreeMap::new();
        for kill in &self.kills {
            *out.entry(kill.kind.clone()).or_insert(0) += 1;
        }
        out
    }
}

/// How faults are carried out.
pub struct Injector {
    pub fleet: Fleet,
    pub spawned: bool,
    pub targets: Vec<String>,
    pub bootstrap: Option<String>,
    pub kill_command: Option<String>,
    pub pg_restart_command: Option<String>,
    pub restart_ms: (u64, u64),
    pub tenant: String,
}

/// The faults' times over a load of `load` (seeded).
fn schedule(
    rng: &mut StdRng,
    load: Duration,
    kills: usize,
    duplicates: usize,
    poison: usize,
    pg_restarts: usize,
) -> Vec<(Duration, Fault)> {
    let span = load.as_secs_f64().max(1.0);
    let mut at = |from: f64, to: f64| Duration::from_secs_f64(span * rng.random_range(from..to));
    let mut out = Vec::new();
    for _ in 0..kills {
        out.push((at(0.05, 0.95), Fault::Kill));
    }
    // Duplicates in two batches, once records exist to copy.
    let first = duplicates / 2;
    for n in [first, duplicates - first] {
        if n > 0 {
            out.push((at(0.3, 0.95), Fault::Duplicates(n)));
        }
    }
    for _ in 0..poison {
        out.push((at(0.05, 0.95), Fault::Poison));
    }
    for _ in 0..pg_restarts {
        out.push((at(0.2, 0.8), Fault::PgRestart));
    }
    out.sort_by_key(|(t, _)| *t);
    out
}

impl Injector {
    /// Carries out the schedule from `started`; returns once every fault is done
    /// and every killed process is started again.
    pub async fn run(
        &self,
        seed: u64,
        started: Instant,
        load: Duration,
        kills: usize,
        duplicates: usize,
        poison: usize,
    ) -> Injected {
        let mut rng = StdRng::seed_from_u64(seed ^ 0xfa17);
        let pg_restarts = usize::from(self.pg_restart_command.is_some());
        let plan = schedule(&mut rng, load, kills, duplicates, poison, pg_restarts);
        let mut injected = Injected::default();
        let mut restarts = tokio::task::JoinSet::new();
        for (offset, fault) in plan {
            tokio::time::sleep_until(started + offset).await;
            let now = started.elapsed().as_secs_f64();
            match fault {
                Fault::Kill => self.kill(&mut rng, now, &mut injected, &mut restarts).await,
                Fault::Duplicates(n) => match &self.bootstrap {
                    Some(bootstrap) => match messages::duplicate(bootstrap, n, &mut rng).await {
                        Ok(ids) => injected.duplicates.extend(ids),
                        Err(err) => injected
                            .errors
                            .push(format!("duplicates at {now:.1}s: {err}")),
                    },
                    None => injected
                        .errors
                        .push("duplicates skipped: no --kafka-bootstrap".into()),
                },
                Fault::Poison => match &self.bootstrap {
                    Some(bootstrap) => {
                        match messages::poison(bootstrap, &self.tenant, &mut rng).await {
                            Ok(p) => injected.poison.push(p),
                            Err(err) => injected.errors.push(format!("poison at {now:.1}s: {err}")),
                        }
                    }
                    None => injected
                        .errors
                        .push("poison skipped: no --kafka-bootstrap".into()),
                },
                Fault::PgRestart => {
                    if let Some(command) = &self.pg_restart_command {
                        match shell(command).await {
                            Ok(()) => injected.pg_restarts += 1,
                            Err(err) => injected.errors.push(format!("PostgreSQL restart: {err}")),
                        }
                    }
                }
            }
        }
        while let Some(done) = restarts.join_next().await {
            if let Ok(Err(err)) = done {
                injected.errors.push(format!("restart: {err}"));
            }
        }
        injected
    }

    async fn kill(
        &self,
        rng: &mut StdRng,
        now: f64,
        injected: &mut Injected,
        restarts: &mut tokio::task::JoinSet<Result<()>>,
    ) {
        if !self.spawned {
            let Some(command) = &self.kill_command else {
                injected
                    .kills_skipped
                    .push(format!("at {now:.1}s: no --kill-command"));
                return;
            };
            let services: Vec<&String> = self.targets.iter().filter(|t| *t != "broker").collect();
            let Some(target) = services.choose(rng) else {
                injected
                    .kills_skipped
                    .push(format!("at {now:.1}s: no target"));
                return;
            };
            match shell(&command.replace("{target}", target)).await {
                Ok(()) => injected.kills.push(Kill {
                    at_secs: now,
                    process: (*target).clone(),
                    kind: (*target).clone(),
                    restarted_after_ms: None,
                }),
                Err(err) => injected.errors.push(format!("kill {target}: {err}")),
            }
            return;
        }
        let candidates: Vec<(String, String)> = self
            .fleet
            .running()
            .await
            .into_iter()
            .filter(|(_, kind)| self.targets.contains(kind))
            .collect();
        let Some((name, kind)) = candidates.choose(rng).cloned() else {
            injected
                .kills_skipped
                .push(format!("at {now:.1}s: every target is down"));
            return;
        };
        if !self.fleet.kill(&name).await {
            injected
                .kills_skipped
                .push(format!("at {now:.1}s: {name} was not running"));
            return;
        }
        let delay = rng.random_range(self.restart_ms.0..=self.restart_ms.1.max(self.restart_ms.0));
        injected.kills.push(Kill {
            at_secs: now,
            process: name.clone(),
            kind,
            restarted_after_ms: Some(delay),
        });
        let fleet = self.fleet.clone();
        restarts.spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            fleet.restart(&name).await
        });
    }
}

/// Runs `command` with `sh -c`; an error when it exits non-zero.
async fn shell(command: &str) -> Result<()> {
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .output()
        .await?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Command {
            command: command.to_owned(),
            output: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_expand_and_unknown_names_are_refused() {
        let all = resolve_targets(&["all".into()]).expect("all");
        assert_eq!(all.len(), SERVICES.len() + 1);
        assert!(all.contains(&"broker".to_owned()));
        let some = resolve_targets(&["participants".into(), "payment".into(), "broker".into()])
            .expect("participants");
        assert_eq!(some.len(), PARTICIPANTS.len() + 1, "deduplicated: {some:?}");
        let err = resolve_targets(&["paymnt".into()]).expect_err("typo");
        assert!(err.to_string().contains("paymnt"), "{err}");
    }

    #[test]
    fn the_schedule_is_seeded_complete_and_within_the_load() {
        let load = Duration::from_secs(30);
        let draw = |seed| schedule(&mut StdRng::seed_from_u64(seed), load, 10, 7, 5, 1);
        let plan = draw(3);
        assert_eq!(plan, draw(3), "same seed, same schedule");
        assert_ne!(plan, draw(4));
        let count = |f: fn(&Fault) -> bool| plan.iter().filter(|(_, x)| f(x)).count();
        assert_eq!(count(|f| *f == Fault::Kill), 10);
        assert_eq!(count(|f| *f == Fault::Poison), 5);
        assert_eq!(count(|f| *f == Fault::PgRestart), 1);
        let duplicates: usize = plan
            .iter()
            .map(|(_, f)| if let Fault::Duplicates(n) = f { *n } else { 0 })
            .sum();
        assert_eq!(duplicates, 7);
        assert!(plan.windows(2).all(|w| w[0].0 <= w[1].0), "in time order");
        assert!(plan.iter().all(|(t, _)| *t < load));
    }
}
