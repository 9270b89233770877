//! Field checks shared by the request bodies: text limits, tags, currencies, URLs,
//! timestamps, and the "absent vs null" helper for PATCH bodies. A failure names
//! the field ([`FieldError`]); the HTTP layer maps it to 400 or 413.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// Why a field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Longer than its limit (HTTP 413).
    #[error("{field} is longer than {limit} characters")]
    TooLong { field: String, limit: usize },
    /// Missing, empty or malformed (HTTP 400).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl FieldError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The body field at fault.
    pub fn field(&self) -> &str {
        match self {
            FieldError::TooLong { field, .. } | FieldError::Invalid { field, .. } => field,
        }
    }
}

/// For `Option<Option<T>>` PATCH fields with `#[serde(default, deserialize_with =
/// "present")]`: absent → `None` (unchanged), `null` → `Some(None)` (cleared),
/// a value → `Some(Some(v))`.
pub fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Trimmed `value`, at most `max` characters, no control characters except
/// newlines and tabs when `multiline`.
pub fn text(field: &str, value: &str, max: usize, multiline: bool) -> Result<String, FieldError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(FieldError::TooLong {
            field: field.to_owned(),
            limit: max,
        });
    }
    let bad = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
    if value.chars().any(bad) {
        return Err(FieldError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Like [`text`], and not empty.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = text(field, value, max, false)?;
    if value.is_empty() {
        return Err(FieldError::invalid(field, "must not be empty"));
    }
    Ok(value)
}

/// Like [`text`]; an empty value is `None`.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, FieldError> {
    match value {
        None => Ok(None),
        Some(value) => Ok(Some(text(field, value, max, multiline)?).filter(|v| !v.is_empty())),
    }
}

/// Tags (stack, locations): trimmed, at most `max_items`, each 1..=`max_len`
/// characters; duplicates (ignoring case) dropped. `lowercase` folds them.
pub fn tags(
    field: &str,
    values: &[String],
    max_items: usize,
    max_len: usize,
    lowercase: bool,
) -> Result<Vec<String>, FieldError> {
    if values.len() > max_items {
        return Err(FieldError::invalid(
            field,
            format!("at most {max_items} entries"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let item = required_text(&format!("{field}[{i}]"), value, max_len)?;
        let item = if lowercase { item.to_lowercase() } else { item };
        if !out.iter().any(|seen| seen.eq_ignore_ascii_case(&item)) {
            out.push(item);
        }
    }
    Ok(out)
}

/// An ISO 4217-shaped code (three letters), upper-cased.
pub fn currency(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(FieldError::invalid(
            field,
            "must be a three-letter currency code such as EUR",
        ));
    }
    Ok(value.to_ascii_uppercase())
}

/// A yearly amount in whole currency units: 0..=1e9.
pub fn amount(field: &str, value: i64) -> Result<i64, FieldError> {
    if !(0..=1_000_000_000).contains(&value) {
        return Err(FieldError::invalid(
            field,
            "must be between 0 and 1000000000",
        ));
    }
    Ok(value)
}

/// An `http(s)://` URL of at most `max` characters.
pub fn url(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = text(field, value, max, false)?;
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => Ok(value),
        _ => Err(FieldError::invalid(
            field,
            "must be an http:// or https:// URL without spaces",
        )),
    }
}

/// An RFC 3339 timestamp (`2025-01-31T09:00:00Z`).
pub fn timestamp(field: &str, value: &str) -> Result<DateTime<Utc>, FieldError> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            FieldError::invalid(
                field,
                "must be an RFC 3339 timestamp such as 2025-01-31T09:00:00Z",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits_count_characters_and_trim() {
        assert_eq!(text("f", "  é  ", 1, false), Ok("é".to_owned()));
        assert_eq!(
            text("f", "ab", 1, false),
            Err(FieldError::TooLong {
                field: "f".into(),
                limit: 1
            })
        );
        assert!(text("f", "a\nb", 5, false).is_err());
        assert_eq!(text("f", "a\nb", 5, true), Ok("a\nb".to_owned()));
        assert!(required_text("f", "   ", 5).is_err());
        assert_eq!(optional_text("f", Some(" "), 5, false), Ok(None));
    }

    #[test]
    fn tags_are_folded_and_deduplicated() {
        let raw = vec![
            "Rust".to_owned(),
            " rust ".to_owned(),
            "Postgres".to_owned(),
        ];
        assert_eq!(
            tags("stack", &raw, 5, 10, true),
            Ok(vec!["rust".to_owned(), "postgres".to_owned()])
        );
        let err = tags("stack", &["".to_owned()], 5, 10, true).expect_err("empty tag");
        assert_eq!(err.field(), "stack[0]");
        assert!(tags("stack", &raw, 2, 10, true).is_err());
    }

    #[test]
    fn currencies_urls_and_timestamps() {
        assert_eq!(currency("c", "eur"), Ok("EUR".to_owned()));
        assert!(currency("c", "EURO").is_err());
        assert!(url("u", "https://jobs.example.com/1", 100).is_ok());
        assert!(url("u", "ftp://x", 100).is_err());
        assert!(url("u", "https://", 100).is_err());
        assert!(timestamp("t", "2025-01-31T09:00:00+01:00").is_ok());
        assert!(timestamp("t", "31/01/2025").is_err());
        assert!(amount("a", -1).is_err());
    }
}
