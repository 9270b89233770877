//! Printing dead letters: an aligned table for people, or `--json` (one object
//! per line) for scripts.

use sagaflow_bus::dlq::{Acknowledged, DeadLetter, Replayed};
use serde_json::json;

/// Longest reason shown in the table (`--json` and `show` print it whole).
const REASON_WIDTH: usize = 60;

pub fn letters(letters: &[DeadLetter], as_json: bool) {
    if as_json {
        for letter in letters {
            println!("{}", letter.summary_json());
        }
    } else {
        print!("{}", table(letters));
    }
}

/// The `list` table: id, time, original topic, type, consumer, state, reason.
pub fn table(letters: &[DeadLetter]) -> String {
    let mut rows =
        vec![["ID", "TIME", "TOPIC", "TYPE", "CONSUMER", "STATE", "REASON"].map(str::to_owned)];
    for letter in letters {
        let mut state = Vec::new();
        if letter.acknowledged {
            state.push("purged");
        }
        if letter.replayed {
            state.push("replayed");
        }
        rows.push([
            letter.id.to_string(),
            letter.time_text(),
            letter.original_topic().unwrap_or_default(),
            letter.message_type().unwrap_or_default(),
            letter.consumer().unwrap_or_default(),
            if state.is_empty() {
                "-".into()
            } else {
                state.join(",")
            },
            truncate(&letter.reason().unwrap_or_default(), REASON_WIDTH),
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    if letters.is_empty() {
        out.push_str("(no dead letters)\n");
    }
    out
}

/// One line, without line breaks, cut to `max` characters with an ellipsis.
fn truncate(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

pub fn detail(letter: &DeadLetter, as_json: bool) {
    let detail = letter.detail_json();
    if as_json {
        println!("{detail}");
        return;
    }
    let text = |key: &str| match &detail[key] {
        serde_json::Value::Null => "-".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for key in [
        "id",
        "time",
        "original_topic",
        "original_partition",
        "original_offset",
        "consumer",
        "message_type",
        "message_id",
        "tenant_id",
        "saga_id",
        "acknowledged",
        "replayed",
        "reason",
        "key",
        "payload_bytes",
        "payload_hex",
    ] {
        println!("{key:<19}{}", text(key));
    }
    println!("headers:");
    if let Some(headers) = detail["headers"].as_array() {
        for header in headers {
            let name = header["name"].as_str().unwrap_or_default();
            let value = header["value"].as_str().unwrap_or("(null)");
            println!("  {name}: {value}");
        }
    }
    let decoded = &detail["decoded"];
    match decoded.get("body") {
        Some(body) => println!(
            "payload ({}):\n{}",
            decoded["message_type"].as_str().unwrap_or_default(),
            serde_json::to_string_pretty(body).unwrap_or_default()
        ),
        None => println!("payload does not decode: {}", text_of(&decoded["error"])),
    }
}

fn text_of(value: &serde_json::Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

pub fn replayed(replayed: &Replayed, as_json: bool) {
    if as_json {
        println!(
            "{}",
            json!({
                "id": replayed.id.to_string(),
                "action": "replayed",
                "topic": replayed.topic,
                "partition": replayed.partition,
                "offset": replayed.offset,
                "message_id": replayed.message_id,
            })
        );
    } else {
        println!(
            "replayed {} to {}/{}/{} (message-id {})",
            replayed.id,
            replayed.topic,
            replayed.partition,
            replayed.offset,
            replayed.message_id.as_deref().unwrap_or("-")
        );
    }
}

pub fn replay_planned(letter: &DeadLetter, as_json: bool) {
    let topic = letter.original_topic().unwrap_or_default();
    if as_json {
        println!(
            "{}",
            json!({"id": letter.id.to_string(), "action": "would replay", "topic": topic, "message_id": letter.message_id()})
        );
    } else {
        println!("would replay {} to {topic}", letter.id);
    }
}

pub fn replay_skipped(letter: &DeadLetter, as_json: bool) {
    if as_json {
        println!(
            "{}",
            json!({"id": letter.id.to_string(), "action": "skipped", "why": "already replayed (--force replays it again)"})
        );
    } else {
        println!(
            "skipped {}: already replayed (--force replays it again)",
            letter.id
        );
    }
}

pub fn acknowledged(done: &[Acknowledged], as_json: bool) {
    for ack in done {
        if as_json {
            println!(
                "{}",
                json!({"topic": ack.topic, "partition": ack.partition, "from": ack.from, "to": ack.to, "action": "purged"})
            );
        } else {
            println!(
                "purged {}/{} offsets {}..{} ({} records)",
                ack.topic,
                ack.partition,
                ack.from,
                ack.to,
                ack.to - ack.from
            );
        }
    }
    if done.is_empty() && !as_json {
        println!("nothing to purge");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reasons_are_cut_to_one_line() {
        let cut = truncate(&format!("line one\nline two {}", "x".repeat(100)), 20);
        assert_eq!(cut.chars().count(), 20);
        assert!(cut.starts_with("line one line two"), "{cut}");
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short", 20), "short");
    }
}
