//! The run's result: one row per invariant (what was checked, how many
//! violations, example ids) and a summary of the load and the faults; printed as a
//! table and written as JSON with `--json-report`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// Example ids kept per row.
pub const EXAMPLES: usize = 5;

/// One invariant's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub invariant: String,
    /// How many things were checked (checkouts, SKUs, outboxes, partitions...).
    pub checked: u64,
    pub violations: u64,
    /// Up to [`EXAMPLES`] offending ids, with what was wrong.
    pub examples: Vec<String>,
    /// Why it was skipped or what it means, when that needs saying.
    pub note: Option<String>,
    /// False for rows that are reported but do not fail the run (parked rows).
    pub gating: bool,
}

impl Row {
    pub fn new(invariant: &str) -> Self {
        Self {
            invariant: invariant.to_owned(),
            checked: 0,
            violations: 0,
            examples: Vec::new(),
            note: None,
            gating: true,
        }
    }

    /// Counts one checked item.
    pub fn check(&mut self) {
        self.checked += 1;
    }

    /// Counts one violation, keeping `example` if there is room.
    pub fn violation(&mut self, example: impl Into<String>) {
        self.violations += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example.into());
        }
    }

    pub fn skipped(invariant: &str, why: impl Into<String>) -> Self {
        Self {
            note: Some(format!("skipped: {}", why.into())),
            ..Self::new(invariant)
        }
    }
}

/// Counts of the load and the faults.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub seed: u64,
    pub run_dir: String,
    pub checkouts_requested: usize,
    pub accepted: usize,
    pub refused: usize,
    pub gave_up: usize,
    pub client_retries: u64,
    pub completed: usize,
    pub compensated: usize,
    /// Accepted checkouts whose saga ended otherwise or did not end.
    pub not_ended_well: usize,
    pub kills_by_kind: BTreeMap<String, u32>,
    pub kills_skipped: usize,
    pub pg_restarts: u32,
    pub duplicates: usize,
    pub poison: usize,
    pub settled_secs: f64,
    pub elapsed_secs: f64,
    /// Things worth knowing that are not invariants (faults that failed, processes
    /// that exited on their own, refusals).
    pub notes: Vec<String>,
}

/// The whole result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub rows: Vec<Row>,
    pub summary: Summary,
    /// Soak mode's series (`--sample-secs`); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<crate::samples::Sample>,
}

impl Report {
    /// Violations of the rows that fail the run.
    pub fn violations(&self) -> u64 {
        self.rows
            .iter()
            .filter(|r| r.gating)
            .map(|r| r.violations)
            .sum()
    }

    /// The table and the summary, for a terminal.
    pub fn render(&self) -> String {
        let width = self
            .rows
            .iter()
            .map(|r| r.invariant.len())
            .max()
            .unwrap_or(9)
            .max(9);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<width$}  {:>7}  {:>10}  examples",
            "invariant", "checked", "violations"
        );
        let _ = writeln!(out, "{}", "-".repeat(width + 40));
        for row in &self.rows {
            let mark = if row.violations == 0 {
                "ok".to_owned()
            } else if row.gating {
                "FAIL".to_owned()
            } else {
                "info".to_owned()
            };
            let mut detail = row.examples.join("; ");
            if let Some(note) = &row.note {
                if !detail.is_empty() {
                    detail.push_str(" | ");
                }
                detail.push_str(note);
            }
            let _ = writeln!(
                out,
                "{:<width$}  {:>7}  {:>5} {:<4}  {}",
                row.invariant, row.checked, row.violations, mark, detail
            );
        }
        let s = &self.summary;
        let kills: Vec<String> = s
            .kills_by_kind
            .iter()
            .map(|(kind, n)| format!("{kind}={n}"))
            .collect();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "checkouts: {} requested, {} accepted ({} refused, {} given up, {} client retries); \
             {} completed, {} compensated, {} other",
            s.checkouts_requested,
            s.accepted,
            s.refused,
            s.gave_up,
            s.client_retries,
            s.completed,
            s.compensated,
            s.not_ended_well
        );
        let _ = writeln!(
            out,
            "faults: kills {} [{}] ({} skipped), PostgreSQL restarts {}, duplicates {}, poison {}",
            s.kills_by_kind.values().sum::<u32>(),
            kills.join(" "),
            s.kills_skipped,
            s.pg_restarts,
            s.duplicates,
            s.poison
        );
        let _ = writeln!(
            out,
            "time: settled {:.1}s after the load, {:.1}s in all; seed {}; run dir {}",
            s.settled_secs, s.elapsed_secs, s.seed, s.run_dir
        );
        for note in &s.notes {
            let _ = writeln!(out, "note: {note}");
        }
        if !self.samples.is_empty() {
            let _ = writeln!(out, "\nsoak samples (rows are summed over the services):");
            out.push_str(&crate::samples::render(&self.samples));
        }
        let _ = writeln!(
            out,
            "{}",
            if self.violations() == 0 {
                "RESULT: every invariant holds".to_owned()
            } else {
                format!("RESULT: {} violation(s)", self.violations())
            }
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gating_rows_fail_and_examples_are_capped() {
        let mut failing = Row::new("a");
        for i in 0..8 {
            failing.check();
            failing.violation(format!("id-{i}"));
        }
        assert_eq!((failing.checked, failing.violations), (8, 8));
        assert_eq!(failing.examples.len(), EXAMPLES);
        let mut info = Row::new("b");
        info.gating = false;
        info.violation("parked");
        let report = Report {
            rows: vec![failing, info, Row::skipped("c", "no broker")],
            summary: Summary::default(),
            samples: Vec::new(),
        };
        assert_eq!(report.violations(), 8);
        let text = report.render();
        assert!(text.contains("FAIL") && text.contains("info"), "{text}");
        assert!(text.contains("skipped: no broker"), "{text}");
        assert!(text.contains("RESULT: 8 violation(s)"), "{text}");
    }
}
