//! Reminders: the tracker's durable timers ([`Reminder`]), the body of
//! `POST /v1/applications/{id}/reminders` ([`ReminderInput`]), when an interview's
//! reminder is due ([`interview_due`]) and what a reminder says when it fires
//! ([`message`]). Pure: storage is `store::reminders`, firing is
//! [`crate::scheduler`].

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum::text_enum;
use crate::validate::{self, FieldError};

/// Longest note on a reminder.
pub const NOTE_MAX: usize = 1_000;
/// Furthest a reminder may be set ahead.
pub const MAX_AHEAD: Duration = Duration::days(366);
/// How long before an interview its reminder fires.
pub const INTERVIEW_LEAD: Duration = Duration::hours(24);

text_enum! {
    /// What a reminder is for.
    ReminderKind {
        /// Set by the user: follow up on an application.
        FollowUp => "follow_up",
        /// Kept in step with an interview of the application.
        Interview => "interview",
    }
}

text_enum! {
    /// Where a reminder is.
    ReminderStatus {
        Scheduled => "scheduled",
        Sent => "sent",
        Cancelled => "cancelled",
        /// Could not be sent; `reason` says why. Nothing retries it.
        Parked => "parked",
    }
}

/// A stored reminder, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reminder {
    pub id: Uuid,
    pub application_id: Uuid,
    pub interview_id: Option<Uuid>,
    pub kind: ReminderKind,
    pub due_at: DateTime<Utc>,
    pub note: Option<String>,
    pub status: ReminderStatus,
    pub reason: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The body of a new follow-up reminder: when, as `due_at` (RFC 3339, in the
/// future) or `in_minutes` (1 to a year), exactly one; and an optional `note`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderInput {
    pub due_at: Option<String>,
    pub in_minutes: Option<i64>,
    pub note: Option<String>,
}

/// A validated new follow-up reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReminder {
    pub due_at: DateTime<Utc>,
    pub note: Option<String>,
}

impl ReminderInput {
    /// Checks the body against `now`.
    pub fn validate(self, now: DateTime<Utc>) -> Result<NewReminder, FieldError> {
        let due_at = match (self.due_at.as_deref(), self.in_minutes) {
            (Some(at), None) => {
                let at = validate::timestamp("due_at", at)?;
                if at <= now {
                    return Err(FieldError::invalid("due_at", "must be in the future"));
                }
                at
            }
            (None, Some(minutes)) if (1..=MAX_AHEAD.num_minutes()).contains(&minutes) => {
                now + Duration::minutes(minutes)
            }
            (None, Some(_)) => {
                return Err(FieldError::invalid(
                    "in_minutes",
                    format!("must be 1 to {}", MAX_AHEAD.num_minutes()),
                ));
            }
            _ => {
                return Err(FieldError::invalid(
                    "due_at",
                    "give exactly one of due_at (RFC 3339) and in_minutes",
                ));
            }
        };
        if due_at > now + MAX_AHEAD {
            return Err(FieldError::invalid(
                "due_at",
                "must be within a year from now",
            ));
        }
        let note = match self.note {
            Some(note) => Some(validate::text("note", &note, NOTE_MAX, true)?),
            None => None,
        }
        .filter(|note| !note.is_empty());
        Ok(NewReminder { due_at, note })
    }
}

/// When the reminder of a pending interview at `scheduled_at` is due: a day before,
/// or now when that has passed; `None` once the interview itself has begun.
pub fn interview_due(scheduled_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (scheduled_at > now).then(|| (scheduled_at - INTERVIEW_LEAD).max(now))
}

/// What a reminder fires with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired<'a> {
    pub kind: ReminderKind,
    pub company: &'a str,
    pub role: &'a str,
    pub note: Option<&'a str>,
    /// The interview's time and kind, for an interview reminder.
    pub interview: Option<(DateTime<Utc>, &'a str)>,
}

/// The subject and body of the notification a reminder sends.
pub fn message(fired: &Fired<'_>) -> (String, String) {
    let what = format!("{} at {}", fired.role, fired.company);
    let (subject, mut body) = match (fired.kind, fired.interview) {
        (ReminderKind::Interview, Some((at, kind))) => (
            format!("Interview coming up: {what}"),
            format!(
                "Your {} interview for {what} is at {} UTC.",
                kind.replace('_', " "),
                at.format("%Y-%m-%d %H:%M")
            ),
        ),
        _ => (
            format!("Follow up: {what}"),
            format!("Time to follow up on your application for {what}."),
        ),
    };
    if let Some(note) = fired.note {
        body.push_str("\n\n");
        body.push_str(note);
    }
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        validate::timestamp("t", text).expect("valid")
    }

    #[test]
    fn exactly_one_of_due_at_and_in_minutes() {
        let now = at("2026-01-01T09:00:00Z");
        let input = |due_at: Option<&str>, in_minutes| ReminderInput {
            due_at: due_at.map(str::to_owned),
            in_minutes,
            note: Some("  ask about the team  ".into()),
        };
        let new = input(None, Some(90)).validate(now).expect("valid");
        assert_eq!(new.due_at, at("2026-01-01T10:30:00Z"));
        assert_eq!(new.note.as_deref(), Some("ask about the team"));
        assert_eq!(
            input(Some("2026-01-02T09:00:00Z"), None)
                .validate(now)
                .map(|r| r.due_at),
            Ok(at("2026-01-02T09:00:00Z"))
        );
        for (due_at, minutes, field) in [
            (None, None, "due_at"),
            (Some("2026-01-02T09:00:00Z"), Some(5), "due_at"),
            (Some("2025-12-31T09:00:00Z"), None, "due_at"),
            (Some("2028-01-01T09:00:00Z"), None, "due_at"),
            (Some("tomorrow"), None, "due_at"),
            (None, Some(0), "in_minutes"),
        ] {
            let err = input(due_at, minutes).validate(now).expect_err("refused");
            assert_eq!(err.field(), field, "{due_at:?} {minutes:?}: {err}");
        }
    }

    #[test]
    fn interview_reminders_fire_a_day_before_or_now() {
        let now = at("2026-01-01T09:00:00Z");
        assert_eq!(
            interview_due(at("2026-01-05T09:00:00Z"), now),
            Some(at("2026-01-04T09:00:00Z"))
        );
        assert_eq!(interview_due(at("2026-01-01T15:00:00Z"), now), Some(now));
        assert_eq!(interview_due(at("2026-01-01T08:00:00Z"), now), None);
    }

    #[test]
    fn messages_name_the_role_the_company_and_the_note() {
        let (subject, body) = message(&Fired {
            kind: ReminderKind::FollowUp,
            company: "Żabka",
            role: "Platform Engineer",
            note: Some("Mention the Kafka talk"),
            interview: None,
        });
        assert_eq!(subject, "Follow up: Platform Engineer at Żabka");
        assert!(body.ends_with("\n\nMention the Kafka talk"), "{body}");
        let (subject, body) = message(&Fired {
            kind: ReminderKind::Interview,
            company: "Acme",
            role: "SRE",
            note: None,
            interview: Some((at("2026-01-05T09:30:00Z"), "phone_screen")),
        });
        assert_eq!(subject, "Interview coming up: SRE at Acme");
        assert_eq!(
            body,
            "Your phone screen interview for SRE at Acme is at 2026-01-05 09:30 UTC."
        );
    }
}
