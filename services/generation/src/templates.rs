//! Prompt templates a user keeps per document kind (`prompt_templates`): checked
//! ([`check`]: length, no control characters, only known placeholders), stored, and
//! used by a generation that brings no template of its own ([`for_generation`]).

use sqlx::{PgConnection, PgPool};

/// Longest template, in characters (the gateway's limit for a request's own).
pub const MAX_CHARS: usize = 5_000;

/// The placeholders [`crate::prompt::render`] fills.
pub const PLACEHOLDERS: [&str; 6] = [
    "candidate_name",
    "job_title",
    "company",
    "skills",
    "keywords",
    "highlights",
];

/// The document kinds a template is kept for.
pub const KINDS: [&str; 3] = ["cover_letter", "resume", "interview_prep"];

/// Why a template is refused.
pub fn check(template: &str) -> Result<String, String> {
    let template = template.trim();
    let chars = template.chars().count();
    if chars == 0 || chars > MAX_CHARS {
        return Err(format!("must be 1 to {MAX_CHARS} characters"));
    }
    if template
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters other than line breaks and tabs".into());
    }
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if plain && !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}: use {}",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(template.to_owned())
}

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Stored {
    pub kind: String,
    pub template: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The user's templates, by kind.
pub async fn list(
    pool: &PgPool,
    tenant_id: &str,
    user_id: &str,
) -> Result<Vec<Stored>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind, template, updated_at FROM prompt_templates
         WHERE tenant_id = $1 AND user_id = $2 ORDER BY kind",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_all(pool)
    .await
}

/// Sets the user's template for `kind` (checked by the caller).
pub async fn put(
    pool: &PgPool,
    tenant_id: &str,
    user_id: &str,
    kind: &str,
    template: &str,
) -> Result<Stored, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO prompt_templates (tenant_id, user_id, kind, template) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, user_id, kind) DO UPDATE SET template = $4, updated_at = now()
         RETURNING kind, template, updated_at",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(kind)
    .bind(template)
    .fetch_one(pool)
    .await
}

/// Removes the user's template for `kind`; false when there was none.
pub async fn delete(
    pool: &PgPool,
    tenant_id: &str,
    user_id: &str,
    kind: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM prompt_templates WHERE tenant_id = $1 AND user_id = $2 AND kind = $3",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(kind)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The template a generation uses: its own when it brought one, else the user's
/// stored one for `kind`, else none (the default of [`crate::prompt::template_for`]).
pub async fn for_generation(
    tx: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    kind: &str,
    own: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    if let Some(own) = own.filter(|t| !t.trim().is_empty()) {
        return Ok(Some(own.to_owned()));
    }
    sqlx::query_scalar(
        "SELECT template FROM prompt_templates WHERE tenant_id = $1 AND user_id = $2 AND kind = $3",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(kind)
    .fetch_optional(tx)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_placeholders_pass() {
        assert_eq!(
            check("  Letter for {company} by {candidate_name}; JSON {\"a\": 1}  "),
            Ok("Letter for {company} by {candidate_name}; JSON {\"a\": 1}".to_owned())
        );
        let err = check("Dear {hiring_manager}").expect_err("unknown");
        assert!(
            err.contains("{hiring_manager}") && err.contains("{job_title}"),
            "{err}"
        );
        assert!(check("   ").is_err());
        assert!(check(&"x".repeat(MAX_CHARS + 1)).is_err());
        assert!(check("a\u{0007}b").is_err());
    }
}
