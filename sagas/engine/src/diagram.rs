//! A deterministic Mermaid flowchart of a definition.

use std::fmt::Write as _;

use crate::definition::{Compensation, Definition};

/// Render `def` as a Mermaid flowchart: forward steps top to bottom, the
/// pivot as a hexagon, failure edges (dashed) into the compensation chain in
/// reverse order, and the terminal states. A `fails_on` reply leads to the
/// compensation of the latest compensable step before the failing one; a
/// timeout of a step with a compensation command leads to that step's own
/// compensation (the abandoned command may have run). Same definition, same
/// text.
pub fn mermaid(def: &Definition) -> String {
    let mut out = String::new();
    let pivot = def.pivot();
    // `write!` to a String cannot fail.
    let _ = writeln!(out, "flowchart TD");
    let _ = writeln!(
        out,
        "    %% saga `{}` v{} (generated; do not edit)",
        def.name, def.version
    );
    let _ = writeln!(out, "    start([start])");
    for (i, step) in def.steps.iter().enumerate() {
        let label = format!(
            "{}. {}<br/>{} → {}",
            i + 1,
            step.name,
            step.command.message_type,
            step.command.topic
        );
        if pivot == Some(i) {
            let _ = writeln!(out, "    s{i}{{{{\"{label}<br/>PIVOT\"}}}}");
        } else {
            let _ = writeln!(out, "    s{i}[\"{label}\"]");
        }
    }
    for (i, step) in def.steps.iter().enumerate() {
        if let Compensation::Command { command, .. } = &step.compensation {
            let _ = writeln!(
                out,
                "    c{i}[/\"undo {}<br/>{} → {}\"/]",
                step.name, command.message_type, command.topic
            );
        }
    }
    let _ = writeln!(out, "    completed([Completed])");
    let _ = writeln!(out, "    compensated([Compensated])");
    // Failed is reached after the pivot, and from the pivot itself on a timeout.
    if pivot.is_some() {
        let _ = writeln!(out, "    failed([Failed: operator])");
    }
    if def
        .steps
        .iter()
        .any(|s| matches!(s.compensation, Compensation::Command { .. }))
    {
        let _ = writeln!(
            out,
            "    compensation_failed([CompensationFailed: operator])"
        );
    }

    // Forward path.
    let _ = writeln!(out, "    start --> s0");
    for (i, step) in def.steps.iter().enumerate() {
        let next = if i + 1 < def.steps.len() {
            format!("s{}", i + 1)
        } else {
            "completed".to_owned()
        };
        let _ = writeln!(
            out,
            "    s{i} -->|\"{}\"| {next}",
            step.completes_on.join(" / ")
        );
    }

    // Failure edges: before/at the pivot into the compensation chain, after it
    // to Failed. A step abandoned on timeout may have run, so when it has a
    // compensation command its timeout edge goes to its own compensation.
    for (i, step) in def.steps.iter().enumerate() {
        let mut why: Vec<&str> = step.fails_on.to_vec();
        if !def.compensates_on_failure(i) {
            why.push("timeout");
            let _ = writeln!(out, "    s{i} -.->|\"{}\"| failed", why.join(" / "));
            continue;
        }
        let below = compensation_below(def, i);
        if def.pivot() == Some(i) {
            // The pivot's outcome is unknown after a timeout: an operator decides.
            if !why.is_empty() {
                let _ = writeln!(out, "    s{i} -.->|\"{}\"| {below}", why.join(" / "));
            }
            let _ = writeln!(out, "    s{i} -.->|\"timeout\"| failed");
        } else if def.compensation_of(i).is_some() {
            if !why.is_empty() {
                let _ = writeln!(out, "    s{i} -.->|\"{}\"| {below}", why.join(" / "));
            }
            let _ = writeln!(out, "    s{i} -.->|\"timeout\"| c{i}");
        } else {
            why.push("timeout");
            let _ = writeln!(out, "    s{i} -.->|\"{}\"| {below}", why.join(" / "));
        }
    }

    // The compensation chain, in reverse order.
    for (i, step) in def.steps.iter().enumerate() {
        if let Compensation::Command { completes_on, .. } = &step.compensation {
            let _ = writeln!(
                out,
                "    c{i} -->|\"{}\"| {}",
                completes_on.join(" / "),
                compensation_below(def, i)
            );
            let _ = writeln!(
                out,
                "    c{i} -.->|\"retries exhausted\"| compensation_failed"
            );
        }
    }
    out
}

/// The node that compensates the latest compensable step before `step`.
fn compensation_below(def: &Definition, step: usize) -> String {
    (0..step)
        .rev()
        .find(|&j| def.compensation_of(j).is_some())
        .map_or_else(|| "compensated".to_owned(), |j| format!("c{j}"))
}
