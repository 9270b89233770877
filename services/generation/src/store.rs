//! The saga's working data (`generations`), users and CV versions, all keyed by
//! tenant: a saga is seen only by commands of the tenant that started it, a user is
//! a (tenant, user id) pair.

use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::analysis::JobAnalysis;
use crate::profile::Profile;

/// What AnalyseJob and CompileProfile stored for a saga.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct SagaData {
    pub saga_id: Uuid,
    pub tenant_id: String,
    pub user_id: Option<String>,
    pub job_description: String,
    pub job_title: String,
    pub company: String,
    pub skills: Json<Vec<String>>,
    pub candidate_name: String,
    pub cv_skills: Json<Vec<String>>,
    pub highlights: Json<Vec<String>>,
    /// The CV the profile was compiled from ('' before CompileProfile).
    pub cv_text: String,
}

/// The tenant that stored the saga's working data, if any did.
pub async fn saga_tenant(
    tx: &mut PgConnection,
    saga_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT tenant_id FROM generations WHERE saga_id = $1")
        .bind(saga_id)
        .fetch_optional(tx)
        .await
}

/// Stores the analysis of a saga's job description (kept on repeats). False when the
/// saga belongs to another tenant (nothing stored).
pub async fn save_analysis(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
    description: &str,
    analysis: &JobAnalysis,
) -> Result<bool, sqlx::Error> {
    let stored = sqlx::query(
        "INSERT INTO generations (saga_id, job_description, job_title, company, seniority, skills, keywords, tenant_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (saga_id) DO UPDATE SET job_description = $2, job_title = $3, company = $4,
             seniority = $5, skills = $6, keywords = $7, analysis_failure = NULL, updated_at = now()
         WHERE generations.tenant_id = $8",
    )
    .bind(saga_id)
    .bind(description)
    .bind(&analysis.job_title)
    .bind(&analysis.company)
    .bind(&analysis.seniority)
    .bind(Json(&analysis.skills))
    .bind(Json(&analysis.keywords))
    .bind(tenant_id)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(stored == 1)
}

/// Records why a saga's job description could not be analysed (not for a saga of
/// another tenant).
pub async fn save_analysis_failure(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
    description: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO generations (saga_id, job_description, analysis_failure, tenant_id)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (saga_id) DO UPDATE SET analysis_failure = $3, updated_at = now()
         WHERE generations.tenant_id = $4",
    )
    .bind(saga_id)
    .bind(description)
    .bind(reason)
    .bind(tenant_id)
    .execute(tx)
    .await?;
    Ok(())
}

/// Upserts the user and, when the CV text is new for them, a new CV version; returns
/// the version the text is stored as.
pub async fn save_cv(
    tx: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    candidate_name: &str,
    cv_text: &str,
    cv_skills: &[String],
) -> Result<i32, sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (tenant_id, user_id, candidate_name) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET candidate_name = $3, updated_at = now()",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(candidate_name)
    .execute(&mut *tx)
    .await?;
    // Serialises version numbering per user.
    sqlx::query("SELECT 1 FROM users WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE")
        .bind(tenant_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let sha: String = Sha256::digest(cv_text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let existing: Option<i32> = sqlx::query_scalar(
        "SELECT version FROM cv_versions WHERE tenant_id = $1 AND user_id = $2 AND sha256 = $3",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(&sha)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(version) = existing {
        return Ok(version);
    }
    let version: i32 = sqlx::query_scalar(
        "INSERT INTO cv_versions (tenant_id, user_id, version, sha256, cv_text, skills)
         SELECT $5, $1, COALESCE(max(version), 0) + 1, $2, $3, $4 FROM cv_versions
         WHERE tenant_id = $5 AND user_id = $1
         RETURNING version",
    )
    .bind(user_id)
    .bind(&sha)
    .bind(cv_text)
    .bind(Json(cv_skills))
    .bind(tenant_id)
    .fetch_one(&mut *tx)
    .await?;
    Ok(version)
}

/// Stores the compiled profile as the saga's working data. False when the saga
/// belongs to another tenant (nothing stored).
pub async fn save_profile(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
    user_id: &str,
    cv_version: i32,
    required: (&[String], &[String]),
    profile: &Profile,
) -> Result<bool, sqlx::Error> {
    let stored = sqlx::query(
        "INSERT INTO generations (saga_id, user_id, skills, keywords, cv_version, candidate_name,
                                  cv_skills, highlights, match_percent, profile_summary, tenant_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (saga_id) DO UPDATE SET user_id = $2, skills = $3, keywords = $4,
             cv_version = $5, candidate_name = $6, cv_skills = $7, highlights = $8,
             match_percent = $9, profile_summary = $10, updated_at = now()
         WHERE generations.tenant_id = $11",
    )
    .bind(saga_id)
    .bind(user_id)
    .bind(Json(required.0))
    .bind(Json(required.1))
    .bind(cv_version)
    .bind(&profile.candidate_name)
    .bind(Json(&profile.cv_skills))
    .bind(Json(&profile.emphasis))
    .bind(profile.match_percent)
    .bind(&profile.summary)
    .bind(tenant_id)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(stored == 1)
}

/// The saga's working data, with the CV text, if any was stored by `tenant_id`.
pub async fn saga_data(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
) -> Result<Option<SagaData>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.saga_id, g.tenant_id, g.user_id, g.job_description, g.job_title, g.company,
                g.skills, g.candidate_name, g.cv_skills, g.highlights,
                COALESCE(c.cv_text, '') AS cv_text
         FROM generations g
         LEFT JOIN cv_versions c
           ON c.tenant_id = g.tenant_id AND c.user_id = g.user_id AND c.version = g.cv_version
         WHERE g.saga_id = $1 AND g.tenant_id = $2",
    )
    .bind(saga_id)
    .bind(tenant_id)
    .fetch_optional(tx)
    .await
}
