//! The regression gate (`--gate loadtest/bench/gate.json`): bounds measured on a
//! known machine, checked against one run. The gate names the run it was set for
//! (broker, offered rate, checkouts); a run with other parameters is refused rather
//! than judged against bounds that do not apply to it. Every checkout must complete.
//!
//! ```json
//! { "about": "where the numbers came from",
//!   "broker": "mock", "rate": 20, "count": 600,
//!   "min_sustained_ratio": 0.9, "max_p50_physical_floor_ratio": 6.0,
//!   "max_p99_ms": 400, "max_rows_per_saga": 230, "max_cpu_ms_per_saga": 110 }
//! ```

use std::fmt;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

/// The bounds of one gate; a bound left out is not checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub broker: String,
    pub rate: f64,
    pub count: usize,
    pub min_sustained_ratio: Option<f64>,
    pub max_p50_physical_floor_ratio: Option<f64>,
    pub max_p99_ms: Option<f64>,
    pub max_rows_per_saga: Option<f64>,
    pub max_cpu_ms_per_saga: Option<f64>,
}

const BOUNDS: [&str; 5] = [
    "min_sustained_ratio",
    "max_p50_physical_floor_ratio",
    "max_p99_ms",
    "max_rows_per_saga",
    "max_cpu_ms_per_saga",
];

impl Gate {
    /// Parses a gate file; an unknown key is an error (a misspelt bound would
    /// otherwise be silently unchecked).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let value: Value = serde_json::from_str(text).context("the gate is not valid JSON")?;
        let Value::Object(map) = value else {
            bail!("the gate must be a JSON object");
        };
        for key in map.keys() {
            if !(["about", "broker", "rate", "count"].contains(&key.as_str())
                || BOUNDS.contains(&key.as_str()))
            {
                bail!(
                    "unknown gate key `{key}` (expected broker, rate, count, about, or one of {BOUNDS:?})"
                );
            }
        }
        let number = |key: &str| -> anyhow::Result<Option<f64>> {
            map.get(key)
                .map(|v| {
                    v.as_f64()
                        .with_context(|| format!("gate key `{key}` must be a number"))
                })
                .transpose()
        };
        let required = |key: &str| number(key)?.with_context(|| format!("the gate needs `{key}`"));
        let gate = Gate {
            broker: text_field(&map, "broker")?,
            rate: required("rate")?,
            count: required("count")? as usize,
            min_sustained_ratio: number(BOUNDS[0])?,
            max_p50_physical_floor_ratio: number(BOUNDS[1])?,
            max_p99_ms: number(BOUNDS[2])?,
            max_rows_per_saga: number(BOUNDS[3])?,
            max_cpu_ms_per_saga: number(BOUNDS[4])?,
        };
        if !BOUNDS.iter().any(|b| map.contains_key(*b)) {
            bail!("the gate has no bounds (expected one of {BOUNDS:?})");
        }
        Ok(gate)
    }

    /// Refuses a run whose parameters are not the ones the bounds were set for.
    pub fn check_run(&self, broker: &str, rate: f64, count: usize) -> anyhow::Result<()> {
        if broker != self.broker || rate != self.rate || count != self.count {
            bail!(
                "the gate is set for --broker {} --rate {} --count {}; this run is --broker {broker} --rate {rate} --count {count}",
                self.broker,
                self.rate,
                self.count
            );
        }
        Ok(())
    }

    /// Every bound the run breaks (empty: the gate passes).
    pub fn evaluate(&self, m: &Measured) -> Vec<Failure> {
        let mut failures = Vec::new();
        if m.completed < self.count {
            failures.push(Failure {
                bound: "completed",
                limit: self.count as f64,
                measured: Some(m.completed as f64),
            });
        }
        let mut check = |bound, limit: Option<f64>, measured: Option<f64>, is_min: bool| {
            if let Some(limit) = limit {
                let ok = measured.is_some_and(|v| if is_min { v >= limit } else { v <= limit });
                if !ok {
                    failures.push(Failure {
                        bound,
                        limit,
                        measured,
                    });
                }
            }
        };
        check(
            BOUNDS[0],
            self.min_sustained_ratio,
            Some(m.sustained_ratio),
            true,
        );
        check(
            BOUNDS[1],
            self.max_p50_physical_floor_ratio,
            Some(m.p50_physical_floor_ratio),
            false,
        );
        check(BOUNDS[2], self.max_p99_ms, Some(m.p99_ms), false);
        check(BOUNDS[3], self.max_rows_per_saga, m.rows_per_saga, false);
        check(
            BOUNDS[4],
            self.max_cpu_ms_per_saga,
            m.cpu_ms_per_saga,
            false,
        );
        failures
    }
}

fn text_field(map: &Map<String, Value>, key: &str) -> anyhow::Result<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("the gate needs `{key}` as a string"))
}

/// What a run measured, in the units of the bounds.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub completed: usize,
    /// Sustained sagas/s over offered checkouts/s.
    pub sustained_ratio: f64,
    pub p50_physical_floor_ratio: f64,
    pub p99_ms: f64,
    /// Rows inserted + updated + deleted per completed saga (gross).
    pub rows_per_saga: Option<f64>,
    /// This process's CPU plus the bench databases' backends', per completed saga.
    pub cpu_ms_per_saga: Option<f64>,
}

/// One broken bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub bound: &'static str,
    pub limit: f64,
    /// `None`: the figure could not be measured on this machine.
    pub measured: Option<f64>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.bound, self.measured) {
            ("completed", Some(v)) => write!(
                f,
                "completed: {v} of {} checkouts completed (every one must)",
                self.limit
            ),
            (bound, Some(v)) => write!(f, "{bound}: measured {v:.3}, bound {}", self.limit),
            (bound, None) => write!(
                f,
                "{bound}: not measured on this machine, bound {}",
                self.limit
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATE: &str = r#"{"about": "test", "broker": "mock", "rate": 20, "count": 600,
        "min_sustained_ratio": 0.95, "max_p50_physical_floor_ratio": 6,
        "max_p99_ms": 400, "max_rows_per_saga": 160, "max_cpu_ms_per_saga": 40}"#;

    fn good() -> Measured {
        Measured {
            completed: 600,
            sustained_ratio: 0.99,
            p50_physical_floor_ratio: 3.1,
            p99_ms: 150.0,
            rows_per_saga: Some(135.0),
            cpu_ms_per_saga: Some(20.0),
        }
    }

    fn bounds(failures: &[Failure]) -> Vec<&'static str> {
        failures.iter().map(|f| f.bound).collect()
    }

    #[test]
    fn parses_the_checked_in_gate() {
        let text = include_str!("../gate.json");
        let gate = Gate::parse(text).expect("loadtest/bench/gate.json parses");
        assert!(gate.min_sustained_ratio.is_some() && gate.max_p50_physical_floor_ratio.is_some());
    }

    #[test]
    fn a_good_run_passes_and_each_broken_bound_is_named() {
        let gate = Gate::parse(GATE).expect("valid");
        assert_eq!(gate.evaluate(&good()), vec![]);
        let slow = Measured {
            sustained_ratio: 0.5,
            p50_physical_floor_ratio: 6.2,
            p99_ms: 800.0,
            rows_per_saga: Some(270.0),
            cpu_ms_per_saga: Some(41.0),
            ..good()
        };
        assert_eq!(bounds(&gate.evaluate(&slow)), BOUNDS.to_vec());
        let failure = &gate.evaluate(&slow)[2];
        assert_eq!(
            failure.to_string(),
            "max_p99_ms: measured 800.000, bound 400"
        );
    }

    #[test]
    fn bounds_are_inclusive_and_an_unmeasured_figure_fails_its_bound() {
        let gate = Gate::parse(GATE).expect("valid");
        let edge = Measured {
            sustained_ratio: 0.95,
            p99_ms: 400.0,
            ..good()
        };
        assert_eq!(gate.evaluate(&edge), vec![]);
        let blind = Measured {
            cpu_ms_per_saga: None,
            ..good()
        };
        let failures = gate.evaluate(&blind);
        assert_eq!(bounds(&failures), vec!["max_cpu_ms_per_saga"]);
        assert!(failures[0].to_string().contains("not measured"));
    }

    #[test]
    fn an_unfinished_checkout_fails_the_gate() {
        let gate = Gate::parse(GATE).expect("valid");
        let lost = Measured {
            completed: 599,
            ..good()
        };
        let failures = gate.evaluate(&lost);
        assert_eq!(bounds(&failures), vec!["completed"]);
        assert_eq!(
            failures[0].to_string(),
            "completed: 599 of 600 checkouts completed (every one must)"
        );
    }

    #[test]
    fn a_bound_left_out_is_not_checked() {
        let gate =
            Gate::parse(r#"{"broker": "mock", "rate": 20, "count": 600, "max_p99_ms": 400}"#)
                .expect("valid");
        let m = Measured {
            sustained_ratio: 0.1,
            ..good()
        };
        assert_eq!(gate.evaluate(&m), vec![]);
    }

    #[test]
    fn refuses_typos_missing_keys_no_bounds_and_other_runs() {
        let typo = GATE.replace("max_p99_ms", "max_p99");
        assert!(
            Gate::parse(&typo)
                .unwrap_err()
                .to_string()
                .contains("max_p99")
        );
        assert!(Gate::parse(r#"{"broker": "mock", "rate": 20, "max_p99_ms": 1}"#).is_err());
        assert!(Gate::parse(r#"{"broker": "mock", "rate": 20, "count": 600}"#).is_err());
        assert!(
            Gate::parse(r#"{"broker": "mock", "rate": "20", "count": 600, "max_p99_ms": 1}"#)
                .is_err()
        );
        let gate = Gate::parse(GATE).expect("valid");
        assert!(gate.check_run("mock", 20.0, 600).is_ok());
        let other = gate.check_run("mock", 60.0, 600).unwrap_err().to_string();
        assert!(
            other.contains("--rate 20") && other.contains("--rate 60"),
            "{other}"
        );
    }
}
