//! [`Filter`]: which dead letters `list` and `replay --all-matching` select.

use sagaflow_events::topics;

use super::Timestamp;
use super::error::Error;
use super::record::DeadLetter;

/// A selection of dead letters. The default selects every unacknowledged one.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Original topics (`inventory.commands`) or their dead-letter topics
    /// (`inventory.commands.dlq`); empty: every platform topic.
    pub topics: Vec<String>,
    /// Exact `message-type`.
    pub message_type: Option<String>,
    /// Case-insensitive substring of the reason.
    pub reason: Option<String>,
    /// Dead-lettered at or after.
    pub since: Option<Timestamp>,
    /// Dead-lettered before.
    pub until: Option<Timestamp>,
    /// Also records the `sagaflow-dlq-ack` group has acknowledged.
    pub include_acknowledged: bool,
    /// At most this many (the oldest first).
    pub limit: Option<usize>,
}

impl Filter {
    /// The dead-letter topics to read. A named topic must be one of the platform's.
    pub fn dlq_topics(&self) -> Result<Vec<String>, Error> {
        if self.topics.is_empty() {
            return Ok(topics::all()
                .iter()
                .map(|t| topics::dead_letter(t))
                .collect());
        }
        let mut out = Vec::new();
        for name in &self.topics {
            let original = name.strip_suffix(".dlq").unwrap_or(name);
            if !topics::all().contains(&original) {
                return Err(Error::UnknownTopic(name.clone()));
            }
            let dlq = topics::dead_letter(original);
            if !out.contains(&dlq) {
                out.push(dlq);
            }
        }
        Ok(out)
    }

    /// Whether `letter` is selected (the topic and the limit are applied by the reader).
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        if letter.acknowledged && !self.include_acknowledged {
            return false;
        }
        if let Some(wanted) = &self.message_type
            && letter.message_type().as_deref() != Some(wanted.as_str())
        {
            return false;
        }
        if let Some(part) = &self.reason {
            let reason = letter.reason().unwrap_or_default().to_lowercase();
            if !reason.contains(&part.to_lowercase()) {
                return false;
            }
        }
        match (letter.timestamp, self.since, self.until) {
            (None, None, None) => true,
            (None, _, _) => false,
            (Some(at), since, until) => {
                since.is_none_or(|since| at >= since) && until.is_none_or(|until| at < until)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_checked_and_mapped_to_their_dead_letter_topics() {
        let filter = Filter {
            topics: vec!["inventory.commands".into(), "inventory.commands.dlq".into()],
            ..Filter::default()
        };
        assert_eq!(
            filter.dlq_topics().expect("known"),
            ["inventory.commands.dlq"]
        );
        let all = Filter::default().dlq_topics().expect("all");
        assert_eq!(all.len(), topics::all().len());
        assert!(all.iter().all(|t| t.ends_with(".dlq")));
        let err = Filter {
            topics: vec!["inventroy.commands".into()],
            ..Filter::default()
        }
        .dlq_topics()
        .expect_err("typo");
        assert!(err.to_string().contains("inventroy.commands"), "{err}");
    }
}
