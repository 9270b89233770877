//! [`DeadLetterId`]: `<dlq-topic>/<partition>/<offset>`, the stable name of one
//! dead-letter record (Kafka never reuses an offset).

use std::fmt;
use std::str::FromStr;

use super::error::Error;

/// Where one dead letter lives: its `.dlq` topic, partition and offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeadLetterId {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl DeadLetterId {
    /// A checked id: `topic` must be a dead-letter topic (`*.dlq`).
    pub fn new(topic: impl Into<String>, partition: i32, offset: i64) -> Result<Self, Error> {
        let topic = topic.into();
        if !topic.ends_with(".dlq") || topic.len() == ".dlq".len() {
            return Err(Error::NotADeadLetterTopic(topic));
        }
        if partition < 0 || offset < 0 {
            return Err(Error::BadId {
                id: format!("{topic}/{partition}/{offset}"),
                why: "partition and offset cannot be negative".into(),
            });
        }
        Ok(Self {
            topic,
            partition,
            offset,
        })
    }
}

impl fmt::Display for DeadLetterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.topic, self.partition, self.offset)
    }
}

impl FromStr for DeadLetterId {
    type Err = Error;

    fn from_str(id: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::BadId {
            id: id.to_owned(),
            why: why.to_owned(),
        };
        let mut parts = id.trim().rsplitn(3, '/');
        let (Some(offset), Some(partition), Some(topic)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("it has fewer than three `/`-separated parts"));
        };
        let partition = partition
            .parse()
            .map_err(|_| bad("the partition is not a number"))?;
        let offset = offset
            .parse()
            .map_err(|_| bad("the offset is not a number"))?;
        Self::new(topic, partition, offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_text() {
        let id: DeadLetterId = "inventory.commands.dlq/3/42".parse().expect("valid");
        assert_eq!(id.topic, "inventory.commands.dlq");
        assert_eq!((id.partition, id.offset), (3, 42));
        assert_eq!(id.to_string(), "inventory.commands.dlq/3/42");
    }

    #[test]
    fn refuses_what_a_person_can_fix() {
        for (text, expect) in [
            ("inventory.commands.dlq/3", "fewer than three"),
            ("inventory.commands.dlq/x/1", "partition is not a number"),
            ("inventory.commands.dlq/1/-", "offset is not a number"),
            ("inventory.commands.dlq/-1/4", "cannot be negative"),
            ("inventory.commands/0/1", "not a dead-letter topic"),
        ] {
            let err = text.parse::<DeadLetterId>().expect_err(text).to_string();
            assert!(err.contains(expect), "{text}: {err}");
        }
    }
}
