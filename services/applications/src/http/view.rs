//! Response shapes.
//!
//! An application (`GET /v1/applications/{id}`, create, update; list items omit
//! `job_description` and `documents`):
//!
//! ```json
//! {"id": "uuid", "company": "Acme", "role": "Backend engineer",
//!  "job_description": "...", "location": "Berlin", "remote": false,
//!  "salary_min": 80000, "salary_max": 95000, "salary_currency": "EUR",
//!  "stack": ["rust", "postgres"], "status": "applied",
//!  "allowed_transitions": ["interviewing", "offer", "rejected", "withdrawn"],
//!  "source_url": "https://...", "notes": null, "applied_at": "2025-06-01T09:00:00Z",
//!  "status_changed_at": "...", "created_at": "...", "updated_at": "...",
//!  "priority": {"score": 85, "reasons": [{"rule": "salary", "points": 15, "message": "..."}]},
//!  "documents": [{"generation_id": "uuid", "attached_at": "...", "saga_id": null}]}
//! ```

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::application::Application;
use crate::priority::Priority;
use crate::status::Status;
use crate::store::documents::Document;

/// An application as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationView {
    pub id: Uuid,
    pub company: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_description: Option<String>,
    pub location: Option<String>,
    pub remote: bool,
    pub salary_min: Option<i64>,
    pub salary_max: Option<i64>,
    pub salary_currency: Option<String>,
    pub stack: Vec<String>,
    pub status: Status,
    pub allowed_transitions: &'static [Status],
    pub source_url: Option<String>,
    pub notes: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
    pub status_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub priority: Priority,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<Vec<Document>>,
}

impl ApplicationView {
    /// A list item (no job description, no documents).
    pub fn summary(app: Application, priority: Priority) -> Self {
        let mut view = Self::full(app, priority, None);
        view.job_description = None;
        view
    }

    /// The whole application; `documents` when known.
    pub fn full(app: Application, priority: Priority, documents: Option<Vec<Document>>) -> Self {
        let f = app.fields;
        ApplicationView {
            id: app.id,
            company: f.company,
            role: f.role,
            job_description: Some(f.job_description),
            location: f.location,
            remote: f.remote,
            salary_min: f.salary_min,
            salary_max: f.salary_max,
            salary_currency: f.salary_currency,
            stack: f.stack,
            status: app.status,
            allowed_transitions: app.status.next(),
            source_url: f.source_url,
            notes: f.notes,
            applied_at: f.applied_at,
            status_changed_at: app.status_changed_at,
            created_at: app.created_at,
            updated_at: app.updated_at,
            priority,
            documents,
        }
    }
}

/// `GET /v1/applications`.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationPage {
    pub items: Vec<ApplicationView>,
    /// Matching applications, all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}
