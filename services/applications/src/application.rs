//! The application record ([`Application`], [`ApplicationFields`]) and the body of
//! `POST` / `PATCH /v1/applications[/{id}]` ([`ApplicationInput`]), with the field
//! limits. Creating is patching the empty record, so both paths validate alike.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::status::Status;
use crate::validate::{self, FieldError, present};

/// Longest company name, role and location (characters).
pub const SHORT_TEXT_MAX: usize = 200;
/// Longest job description (characters).
pub const JOB_DESCRIPTION_MAX: usize = 50_000;
/// Longest notes (characters).
pub const NOTES_MAX: usize = 10_000;
/// Longest source URL (characters).
pub const URL_MAX: usize = 2_048;
/// Most stack tags, and the longest tag.
pub const STACK_MAX_TAGS: usize = 30;
pub const TAG_MAX: usize = 50;

/// Everything the user edits about an application (the status changes separately).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationFields {
    pub company: String,
    pub role: String,
    pub job_description: String,
    pub location: Option<String>,
    /// Remote work is possible.
    pub remote: bool,
    /// Yearly, whole units of `salary_currency`.
    pub salary_min: Option<i64>,
    pub salary_max: Option<i64>,
    pub salary_currency: Option<String>,
    /// Lower-case technology tags.
    pub stack: Vec<String>,
    pub source_url: Option<String>,
    pub notes: Option<String>,
    /// When it was sent; filled in on entering a status that implies it.
    pub applied_at: Option<DateTime<Utc>>,
}

/// A stored application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: Uuid,
    pub fields: ApplicationFields,
    pub status: Status,
    pub status_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The JSON body of create and update. Absent fields are unchanged (on create:
/// empty); `null` clears a nullable field. Unknown fields are refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    pub company: Option<String>,
    pub role: Option<String>,
    pub job_description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub location: Option<Option<String>>,
    pub remote: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub salary_min: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub salary_max: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub salary_currency: Option<Option<String>>,
    pub stack: Option<Vec<String>>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub source_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub applied_at: Option<Option<String>>,
}

impl ApplicationInput {
    /// The fields and status of a new application (status `saved` unless given).
    pub fn create(self) -> Result<(ApplicationFields, Status), FieldError> {
        for (field, value) in [("company", &self.company), ("role", &self.role)] {
            if value.is_none() {
                return Err(FieldError::invalid(field, "is required"));
            }
        }
        let mut fields = ApplicationFields::default();
        let status = self.apply(&mut fields)?;
        Ok((fields, status.unwrap_or(Status::Saved)))
    }

    /// Applies this patch to `fields` and checks the result; returns the requested
    /// status, if any (the caller checks the transition).
    pub fn apply(self, fields: &mut ApplicationFields) -> Result<Option<Status>, FieldError> {
        if let Some(v) = self.company {
            fields.company = validate::required_text("company", &v, SHORT_TEXT_MAX)?;
        }
        if let Some(v) = self.role {
            fields.role = validate::required_text("role", &v, SHORT_TEXT_MAX)?;
        }
        if let Some(v) = self.job_description {
            fields.job_description =
                validate::text("job_description", &v, JOB_DESCRIPTION_MAX, true)?;
        }
        if let Some(v) = self.location {
            fields.location =
                validate::optional_text("location", v.as_deref(), SHORT_TEXT_MAX, false)?;
        }
        if let Some(v) = self.remote {
            fields.remote = v;
        }
        if let Some(v) = self.salary_min {
            fields.salary_min = v.map(|v| validate::amount("salary_min", v)).transpose()?;
        }
        if let Some(v) = self.salary_max {
            fields.salary_max = v.map(|v| validate::amount("salary_max", v)).transpose()?;
        }
        if let Some(v) = self.salary_currency {
            fields.salary_currency = v
                .map(|v| validate::currency("salary_currency", &v))
                .transpose()?;
        }
        if let Some(v) = self.stack {
            fields.stack = validate::tags("stack", &v, STACK_MAX_TAGS, TAG_MAX, true)?;
        }
        if let Some(v) = self.source_url {
            fields.source_url = v
                .map(|v| validate::url("source_url", &v, URL_MAX))
                .transpose()?;
        }
        if let Some(v) = self.notes {
            fields.notes = validate::optional_text("notes", v.as_deref(), NOTES_MAX, true)?;
        }
        if let Some(v) = self.applied_at {
            fields.applied_at = v
                .map(|v| validate::timestamp("applied_at", &v))
                .transpose()?;
        }
        let status = self
            .status
            .map(|raw| {
                Status::parse(raw.trim()).ok_or_else(|| {
                    FieldError::invalid(
                        "status",
                        format!(
                            "unknown status `{raw}`; expected one of {}",
                            Status::expected()
                        ),
                    )
                })
            })
            .transpose()?;
        fields.check()?;
        Ok(status)
    }
}

impl ApplicationFields {
    /// Rules across fields: a salary range is ordered and has a currency.
    pub fn check(&self) -> Result<(), FieldError> {
        if let (Some(min), Some(max)) = (self.salary_min, self.salary_max)
            && min > max
        {
            return Err(FieldError::invalid(
                "salary_min",
                format!("{min} is above salary_max {max}"),
            ));
        }
        if (self.salary_min.is_some() || self.salary_max.is_some())
            && self.salary_currency.is_none()
        {
            return Err(FieldError::invalid(
                "salary_currency",
                "is required with salary_min or salary_max",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: serde_json::Value) -> ApplicationInput {
        serde_json::from_value(json).expect("a valid body")
    }

    #[test]
    fn create_needs_company_and_role_and_defaults_to_saved() {
        let err = input(serde_json::json!({"role": "Dev"}))
            .create()
            .expect_err("no company");
        assert_eq!(err.field(), "company");
        let (fields, status) = input(serde_json::json!({
            "company": " Acme ", "role": "Dev", "stack": ["Rust", "rust", "SQL"],
            "salary_min": 50000, "salary_currency": "eur"
        }))
        .create()
        .expect("valid");
        assert_eq!(status, Status::Saved);
        assert_eq!(fields.company, "Acme");
        assert_eq!(fields.stack, ["rust", "sql"]);
        assert_eq!(fields.salary_currency.as_deref(), Some("EUR"));
    }

    #[test]
    fn patch_distinguishes_absent_from_null() {
        let mut fields = ApplicationFields {
            company: "Acme".into(),
            role: "Dev".into(),
            location: Some("Berlin".into()),
            notes: Some("keep".into()),
            ..Default::default()
        };
        let status = input(serde_json::json!({"location": null, "status": "applied"}))
            .apply(&mut fields)
            .expect("valid");
        assert_eq!(status, Some(Status::Applied));
        assert_eq!(fields.location, None);
        assert_eq!(fields.notes.as_deref(), Some("keep"));
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (serde_json::json!({"status": "hired"}), "status"),
            (
                serde_json::json!({"salary_min": 10, "salary_max": 5, "salary_currency": "EUR"}),
                "salary_min",
            ),
            (serde_json::json!({"salary_max": 5}), "salary_currency"),
            (
                serde_json::json!({"source_url": "javascript:alert(1)"}),
                "source_url",
            ),
            (serde_json::json!({"applied_at": "yesterday"}), "applied_at"),
            (serde_json::json!({"company": ""}), "company"),
        ];
        for (body, field) in cases {
            let mut fields = ApplicationFields {
                company: "Acme".into(),
                role: "Dev".into(),
                ..Default::default()
            };
            let err = input(body.clone()).apply(&mut fields).expect_err("refused");
            assert_eq!(err.field(), field, "{body}");
        }
        let long = "x".repeat(JOB_DESCRIPTION_MAX + 1);
        let err = input(serde_json::json!({"job_description": long}))
            .apply(&mut ApplicationFields::default())
            .expect_err("too long");
        assert!(matches!(
            err,
            FieldError::TooLong {
                limit: JOB_DESCRIPTION_MAX,
                ..
            }
        ));
        assert!(serde_json::from_str::<ApplicationInput>(r#"{"compny": "x"}"#).is_err());
    }
}
