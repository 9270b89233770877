//! A user's preferences ([`Preferences`]), the input of the priority score, and the
//! body of `PUT /v1/tracker/preferences` ([`PreferencesInput`], which replaces
//! them whole).

use serde::{Deserialize, Serialize};

use crate::application::TAG_MAX;
use crate::validate::{self, FieldError};

/// Most entries in each list.
pub const LIST_MAX: usize = 30;
/// Longest location.
pub const LOCATION_MAX: usize = 100;

/// What makes an application attractive to this user. The default (nothing set)
/// scores every open application alike.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Preferences {
    /// Places the user wants to work in (matched as case-insensitive substrings).
    pub locations: Vec<String>,
    /// The user accepts remote roles.
    pub remote_ok: bool,
    /// Yearly target, whole units of `salary_currency`.
    pub salary_target: Option<i64>,
    pub salary_currency: Option<String>,
    /// Technologies the user wants (lower case).
    pub preferred_stack: Vec<String>,
    /// Technologies the user would rather not use (lower case).
    pub avoided_stack: Vec<String>,
}

impl Preferences {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &Preferences::default()
    }
}

/// The body of `PUT /v1/tracker/preferences`; absent fields are empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    #[serde(default)]
    pub locations: Vec<String>,
    #[serde(default)]
    pub remote_ok: bool,
    pub salary_target: Option<i64>,
    pub salary_currency: Option<String>,
    #[serde(default)]
    pub preferred_stack: Vec<String>,
    #[serde(default)]
    pub avoided_stack: Vec<String>,
}

impl PreferencesInput {
    pub fn validate(self) -> Result<Preferences, FieldError> {
        let preferred_stack = validate::tags(
            "preferred_stack",
            &self.preferred_stack,
            LIST_MAX,
            TAG_MAX,
            true,
        )?;
        let avoided_stack = validate::tags(
            "avoided_stack",
            &self.avoided_stack,
            LIST_MAX,
            TAG_MAX,
            true,
        )?;
        if let Some(both) = avoided_stack.iter().find(|t| preferred_stack.contains(t)) {
            return Err(FieldError::invalid(
                "avoided_stack",
                format!("`{both}` is also in preferred_stack"),
            ));
        }
        let salary_target = self
            .salary_target
            .map(|v| validate::amount("salary_target", v))
            .transpose()?;
        let salary_currency = self
            .salary_currency
            .map(|v| validate::currency("salary_currency", &v))
            .transpose()?;
        if salary_target.is_some() && salary_currency.is_none() {
            return Err(FieldError::invalid(
                "salary_currency",
                "is required with salary_target",
            ));
        }
        Ok(Preferences {
            locations: validate::tags("locations", &self.locations, LIST_MAX, LOCATION_MAX, false)?,
            remote_ok: self.remote_ok,
            salary_target,
            salary_currency,
            preferred_stack,
            avoided_stack,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_normalises() {
        let prefs = PreferencesInput {
            locations: vec!["Berlin".into(), "berlin".into()],
            salary_target: Some(90_000),
            salary_currency: Some("eur".into()),
            preferred_stack: vec!["Rust".into()],
            ..Default::default()
        }
        .validate()
        .expect("valid");
        assert_eq!(prefs.locations, ["Berlin"]);
        assert_eq!(prefs.salary_currency.as_deref(), Some("EUR"));
        assert_eq!(prefs.preferred_stack, ["rust"]);
        assert!(Preferences::default().is_empty());
        assert!(!prefs.is_empty());
    }

    #[test]
    fn refuses_contradictions() {
        let err = PreferencesInput {
            salary_target: Some(1),
            ..Default::default()
        }
        .validate()
        .expect_err("no currency");
        assert_eq!(err.field(), "salary_currency");
        let err = PreferencesInput {
            preferred_stack: vec!["go".into()],
            avoided_stack: vec!["Go".into()],
            ..Default::default()
        }
        .validate()
        .expect_err("both");
        assert_eq!(err.field(), "avoided_stack");
    }
}
