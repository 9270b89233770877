//! Interviews of an application ([`Interview`]) and the body of
//! `POST` / `PATCH /v1/applications/{id}/interviews[/{interview_id}]`
//! ([`InterviewInput`]): creating is patching an empty interview.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum::text_enum;
use crate::validate::{self, FieldError, present};

/// Longest interviewer and location.
pub const SHORT_TEXT_MAX: usize = 200;
/// Longest notes.
pub const NOTES_MAX: usize = 10_000;
/// Longest duration (minutes).
pub const DURATION_MAX_MINUTES: i32 = 24 * 60;

text_enum! {
    /// What kind of interview.
    InterviewKind {
        PhoneScreen => "phone_screen",
        Technical => "technical",
        Behavioral => "behavioral",
        Onsite => "onsite",
        Final => "final",
        Other => "other",
    }
}

text_enum! {
    /// How it went.
    InterviewOutcome {
        Pending => "pending",
        Passed => "passed",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

/// What the user edits about an interview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterviewFields {
    pub kind: InterviewKind,
    pub scheduled_at: DateTime<Utc>,
    pub duration_minutes: Option<i32>,
    pub interviewer: Option<String>,
    /// A place or a meeting link.
    pub location: Option<String>,
    pub notes: Option<String>,
    pub outcome: InterviewOutcome,
}

/// A stored interview, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interview {
    pub id: Uuid,
    pub application_id: Uuid,
    #[serde(flatten)]
    pub fields: InterviewFields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The JSON body of create and update (absent: unchanged; `null` clears a
/// nullable field). On create `scheduled_at` is required, `kind` defaults to
/// `other` and `outcome` to `pending`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterviewInput {
    pub kind: Option<String>,
    pub scheduled_at: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub duration_minutes: Option<Option<i32>>,
    #[serde(default, deserialize_with = "present")]
    pub interviewer: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub notes: Option<Option<String>>,
    pub outcome: Option<String>,
}

impl InterviewInput {
    /// A new interview's fields.
    pub fn create(self) -> Result<InterviewFields, FieldError> {
        let Some(raw) = self.scheduled_at.as_deref() else {
            return Err(FieldError::invalid("scheduled_at", "is required"));
        };
        let mut fields = InterviewFields {
            kind: InterviewKind::Other,
            scheduled_at: validate::timestamp("scheduled_at", raw)?,
            duration_minutes: None,
            interviewer: None,
            location: None,
            notes: None,
            outcome: InterviewOutcome::Pending,
        };
        self.apply(&mut fields)?;
        Ok(fields)
    }

    /// Applies this patch to `fields`.
    pub fn apply(self, fields: &mut InterviewFields) -> Result<(), FieldError> {
        if let Some(raw) = self.kind {
            fields.kind = InterviewKind::parse(raw.trim()).ok_or_else(|| {
                FieldError::invalid(
                    "kind",
                    format!(
                        "unknown kind `{raw}`; expected one of {}",
                        InterviewKind::expected()
                    ),
                )
            })?;
        }
        if let Some(raw) = self.scheduled_at {
            fields.scheduled_at = validate::timestamp("scheduled_at", &raw)?;
        }
        if let Some(v) = self.duration_minutes {
            if let Some(m) = v
                && !(1..=DURATION_MAX_MINUTES).contains(&m)
            {
                return Err(FieldError::invalid(
                    "duration_minutes",
                    format!("must be between 1 and {DURATION_MAX_MINUTES}"),
                ));
            }
            fields.duration_minutes = v;
        }
        if let Some(v) = self.interviewer {
            fields.interviewer =
                validate::optional_text("interviewer", v.as_deref(), SHORT_TEXT_MAX, false)?;
        }
        if let Some(v) = self.location {
            fields.location =
                validate::optional_text("location", v.as_deref(), SHORT_TEXT_MAX, false)?;
        }
        if let Some(v) = self.notes {
            fields.notes = validate::optional_text("notes", v.as_deref(), NOTES_MAX, true)?;
        }
        if let Some(raw) = self.outcome {
            fields.outcome = InterviewOutcome::parse(raw.trim()).ok_or_else(|| {
                FieldError::invalid(
                    "outcome",
                    format!(
                        "unknown outcome `{raw}`; expected one of {}",
                        InterviewOutcome::expected()
                    ),
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_requires_a_time_and_defaults_the_rest() {
        let err = InterviewInput::default().create().expect_err("no time");
        assert_eq!(err.field(), "scheduled_at");
        let fields = InterviewInput {
            scheduled_at: Some("2025-06-02T10:00:00Z".into()),
            ..Default::default()
        }
        .create()
        .expect("valid");
        assert_eq!(
            (fields.kind, fields.outcome),
            (InterviewKind::Other, InterviewOutcome::Pending)
        );
    }

    #[test]
    fn unknown_kinds_and_outcomes_list_the_choices() {
        let err = InterviewInput {
            scheduled_at: Some("2025-06-02T10:00:00Z".into()),
            kind: Some("coffee".into()),
            ..Default::default()
        }
        .create()
        .expect_err("bad kind");
        assert_eq!(
            err.to_string(),
            "kind: unknown kind `coffee`; expected one of phone_screen, technical, behavioral, onsite, final, other"
        );
        let err = InterviewInput {
            scheduled_at: Some("2025-06-02T10:00:00Z".into()),
            duration_minutes: Some(Some(0)),
            ..Default::default()
        }
        .create()
        .expect_err("zero minutes");
        assert_eq!(err.field(), "duration_minutes");
    }
}
