//! Token budgets per stage (`stage_budgets`): the most output tokens a user lets one
//! LLM call of the generation stage, and of the validation stage's regeneration, ask
//! for. Each is capped by `GENERATION_MAX_TOKENS_PER_CALL`; unset, that limit
//! applies. Set through `PUT /profile/budgets` ([`crate::profile_api`]).

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

/// Smallest and largest budget of one call.
pub const RANGE: std::ops::RangeInclusive<i32> = 16..=200_000;

/// A user's budgets (`None`: the service's limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct StageBudgets {
    pub generate_tokens: Option<i32>,
    pub regenerate_tokens: Option<i32>,
}

impl StageBudgets {
    /// Why the budgets are refused, naming the field.
    pub fn check(&self) -> Result<(), String> {
        for (field, value) in [
            ("generate_tokens", self.generate_tokens),
            ("regenerate_tokens", self.regenerate_tokens),
        ] {
            if value.is_some_and(|v| !RANGE.contains(&v)) {
                return Err(format!(
                    "{field}: must be {} to {} (or null for the service's limit)",
                    RANGE.start(),
                    RANGE.end()
                ));
            }
        }
        Ok(())
    }

    /// The output-token limit of a call of the generation stage.
    pub fn generate_limit(&self, service_limit: u32) -> u32 {
        cap(self.generate_tokens, service_limit)
    }

    /// The output-token limit of a regeneration.
    pub fn regenerate_limit(&self, service_limit: u32) -> u32 {
        cap(self.regenerate_tokens, service_limit)
    }
}

fn cap(budget: Option<i32>, service_limit: u32) -> u32 {
    budget
        .and_then(|b| u32::try_from(b).ok())
        .map_or(service_limit, |b| b.min(service_limit))
}

/// The user's budgets (defaults when none are set).
pub async fn get(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
) -> Result<StageBudgets, sqlx::Error> {
    let found: Option<StageBudgets> = sqlx::query_as(
        "SELECT generate_tokens, regenerate_tokens FROM stage_budgets
         WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.unwrap_or_default())
}

/// Replaces the user's budgets (checked by the caller).
pub async fn put(
    pool: &PgPool,
    tenant_id: &str,
    user_id: &str,
    budgets: &StageBudgets,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stage_budgets (tenant_id, user_id, generate_tokens, regenerate_tokens)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, user_id) DO UPDATE
         SET generate_tokens = $3, regenerate_tokens = $4, updated_at = now()",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(budgets.generate_tokens)
    .bind(budgets.regenerate_tokens)
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_capped_by_the_service_and_checked_by_field() {
        let budgets = StageBudgets {
            generate_tokens: Some(800),
            regenerate_tokens: Some(5_000),
        };
        assert_eq!(budgets.generate_limit(2048), 800);
        assert_eq!(budgets.regenerate_limit(2048), 2048);
        assert_eq!(StageBudgets::default().generate_limit(2048), 2048);
        assert!(budgets.check().is_ok());
        let err = StageBudgets {
            regenerate_tokens: Some(3),
            ..budgets
        }
        .check()
        .expect_err("too small");
        assert!(err.starts_with("regenerate_tokens:"), "{err}");
    }
}
