//! Application statuses: a closed set and the transitions allowed between them.
//!
//! ```text
//! saved ──> applied ──> interviewing ──> offer ──> accepted
//!   │          │  └──────────────────────>│
//!   │          ├──> rejected <────────────┤ (from applied, interviewing, offer)
//!   └──────────┴──> withdrawn <───────────┘ (from any open status)
//! ```
//!
//! `accepted`, `rejected` and `withdrawn` are closed: nothing leaves them. Setting
//! the status an application already has is not a transition (no event).

use crate::text_enum::text_enum;

text_enum! {
    /// Where an application stands.
    Status {
        /// Noted, not applied yet (the default).
        Saved => "saved",
        Applied => "applied",
        Interviewing => "interviewing",
        Offer => "offer",
        /// The candidate took the offer.
        Accepted => "accepted",
        /// The company said no (at any stage).
        Rejected => "rejected",
        /// The candidate stepped back (at any stage).
        Withdrawn => "withdrawn",
    }
}

impl Status {
    /// The statuses this one may move to.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Saved => &[Applied, Withdrawn],
            Applied => &[Interviewing, Offer, Rejected, Withdrawn],
            Interviewing => &[Offer, Rejected, Withdrawn],
            Offer => &[Accepted, Rejected, Withdrawn],
            Accepted | Rejected | Withdrawn => &[],
        }
    }

    /// Whether nothing leaves this status.
    pub fn is_closed(self) -> bool {
        self.next().is_empty()
    }

    /// Whether an application in this status has been sent to the company (so an
    /// unset `applied_at` is filled in on entering it).
    pub fn implies_applied(self) -> bool {
        !matches!(self, Status::Saved | Status::Withdrawn)
    }

    /// Whether reaching this status means the company answered (for the response
    /// rate): interviews, an offer, or a rejection.
    pub fn is_response(self) -> bool {
        matches!(
            self,
            Status::Interviewing | Status::Offer | Status::Accepted | Status::Rejected
        )
    }
}

/// A refused status change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move an application from {from} to {to}; allowed from {from}: {}", allowed(*.from))]
pub struct InvalidTransition {
    pub from: Status,
    pub to: Status,
}

fn allowed(from: Status) -> String {
    if from.is_closed() {
        return format!("none ({from} is closed)");
    }
    from.next()
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks `from → to`: `Ok(true)` for a transition, `Ok(false)` when the status
/// does not change, or the refusal.
pub fn transition(from: Status, to: Status) -> Result<bool, InvalidTransition> {
    if from == to {
        Ok(false)
    } else if from.next().contains(&to) {
        Ok(true)
    } else {
        Err(InvalidTransition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn the_happy_path_is_allowed() {
        for (from, to) in [
            (Saved, Applied),
            (Applied, Interviewing),
            (Interviewing, Offer),
            (Offer, Accepted),
            (Applied, Rejected),
            (Interviewing, Withdrawn),
            (Applied, Offer),
        ] {
            assert_eq!(transition(from, to), Ok(true), "{from} -> {to}");
        }
    }

    #[test]
    fn closed_statuses_and_going_back_are_refused_with_the_alternatives() {
        let err = transition(Rejected, Applied).expect_err("closed");
        assert_eq!(
            err.to_string(),
            "cannot move an application from rejected to applied; allowed from rejected: none (rejected is closed)"
        );
        let err = transition(Interviewing, Saved).expect_err("backwards");
        assert_eq!(
            err.to_string(),
            "cannot move an application from interviewing to saved; allowed from interviewing: offer, rejected, withdrawn"
        );
        assert!(transition(Saved, Offer).is_err(), "skipping applied");
        for closed in [Accepted, Rejected, Withdrawn] {
            assert!(closed.is_closed());
            for to in Status::ALL {
                assert_eq!(transition(closed, *to).is_ok(), closed == *to);
            }
        }
    }

    #[test]
    fn same_status_is_not_a_transition() {
        for s in Status::ALL {
            assert_eq!(transition(*s, *s), Ok(false));
        }
    }

    #[test]
    fn spellings_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Status::parse("Applied"), None);
        assert_eq!(
            Status::expected(),
            "saved, applied, interviewing, offer, accepted, rejected, withdrawn"
        );
    }
}
