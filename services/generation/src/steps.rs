//! The LLM steps: GenerateDocument (budget, cache, chain) and ValidateDocument
//! (with one bounded regeneration when the draft fails).

use sagaflow_bus::Failure;
use sagaflow_events::messages::{
    DocumentGenerated, DocumentRejected, DocumentValidated, GenerateDocument, GenerationFailed,
    ValidateDocument,
};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::budget::{self, CANCELLED};
use crate::documents;
use crate::generate::{self, DraftRequest};
use crate::handler::Generator;
use crate::prompt::kind_name;
use crate::store::{self, SagaData};
use crate::validate::{Evidence, Validation, validate};

/// A ValidateDocument reply, stored on the document so a repeat gets the same one.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Verdict {
    Validated(DocumentValidated),
    Rejected(DocumentRejected),
}

impl From<Verdict> for Result<DocumentValidated, DocumentRejected> {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Validated(done) => Ok(done),
            Verdict::Rejected(rejected) => Err(rejected),
        }
    }
}

fn evidence(data: &SagaData) -> Evidence {
    let current_year = chrono::Utc::now().format("%Y").to_string();
    Evidence {
        cv_text: data.cv_text.clone(),
        job_title: data.job_title.clone(),
        company: data.company.clone(),
        allowed_years: vec![current_year],
    }
}

impl Generator {
    pub(crate) async fn generate(
        &self,
        tx: &mut PgConnection,
        command: &GenerateDocument,
    ) -> Result<Result<DocumentGenerated, GenerationFailed>, Failure> {
        let saga_id = command.saga_id;
        let failed = |reason: &str, tokens_used: i64| GenerationFailed {
            saga_id,
            reason: reason.to_owned(),
            tokens_used,
        };
        let kind = kind_name(command.kind);
        let request_key = format!("generate:{kind}:{}", command.attempt);
        // The budget lock first: a release that got here before us is final.
        let locked = budget::lock(tx, saga_id).await?;
        if let Some(done) = documents::by_request(tx, saga_id, &request_key).await? {
            if done.status == "void" {
                return Ok(Err(failed(CANCELLED, done.tokens)));
            }
            return Ok(Ok(DocumentGenerated {
                saga_id,
                document_id: done.document_id,
                provider: done.provider,
                tokens_used: done.tokens,
                offline: done.offline,
                content: done.content,
            }));
        }
        if let Some(existing) = &locked
            && existing.status != "reserved"
        {
            metrics::counter!("sagaflow_generations_refused_total", "reason" => "cancelled")
                .increment(1);
            return Ok(Err(failed(CANCELLED, 0)));
        }
        let Some(data) = store::saga_data(tx, saga_id).await? else {
            return Ok(Err(failed("no profile was compiled for this saga", 0)));
        };
        let Some(user_id) = data.user_id.clone() else {
            return Ok(Err(failed("no profile was compiled for this saga", 0)));
        };
        let budget = match budget::reserve(
            tx,
            saga_id,
            &user_id,
            command.token_budget,
            self.user_token_limit,
        )
        .await?
        {
            Ok(budget) => budget,
            Err(reason) => {
                metrics::counter!("sagaflow_generations_refused_total", "reason" => "budget")
                    .increment(1);
                return Ok(Err(failed(&reason, 0)));
            }
        };
        let facts = generate::facts(
            kind,
            &data,
            &command.keywords,
            &command.emphasis,
            command.feedback.clone(),
        );
        let request = DraftRequest {
            saga_id,
            user_id: &user_id,
            facts,
            template: command.template.as_deref(),
            request_key: &request_key,
            max_tokens_per_call: self.max_tokens_per_call,
        };
        Ok(
            match generate::draft(tx, &self.chain, &budget, &request).await? {
                Ok(draft) => Ok(DocumentGenerated {
                    saga_id,
                    document_id: draft.document_id,
                    provider: draft.provider,
                    tokens_used: draft.tokens_used,
                    offline: draft.offline,
                    content: draft.content,
                }),
                Err((reason, tokens_used)) => Err(failed(&reason, tokens_used)),
            },
        )
    }

    pub(crate) async fn validate(
        &self,
        tx: &mut PgConnection,
        command: &ValidateDocument,
    ) -> Result<Result<DocumentValidated, DocumentRejected>, Failure> {
        let (saga_id, document_id) = (command.saga_id, command.document_id);
        let rejected = |reasons: Vec<String>, feedback: String| DocumentRejected {
            saga_id,
            document_id,
            reasons,
            feedback,
        };
        // Budget first, then the document: the same lock order as generation.
        let locked = budget::lock(tx, saga_id).await?;
        let Some(document) = documents::lock(tx, document_id).await? else {
            return Ok(Err(rejected(
                vec![format!("unknown document {document_id}")],
                String::new(),
            )));
        };
        if let Some(stored) = documents::verdict(tx, document_id).await? {
            let verdict: Verdict = serde_json::from_value(stored)
                .map_err(|e| Failure::Poison(format!("stored verdict: {e}")))?;
            return Ok(verdict.into());
        }
        if document.saga_id != saga_id {
            return Ok(Err(rejected(
                vec!["the document belongs to another saga".into()],
                String::new(),
            )));
        }
        if document.status == "void" {
            return Ok(Err(rejected(
                vec!["the document was voided".into()],
                String::new(),
            )));
        }
        let data = store::saga_data(tx, saga_id).await?.unwrap_or_default();
        let evidence = evidence(&data);
        let first = validate(&command.content, &command.keywords, &evidence);
        let verdict = if first.passed() {
            documents::set_status(tx, document_id, "validated", Some(scores(&first))).await?;
            Verdict::Validated(validated(saga_id, document_id, &first))
        } else {
            self.regenerate(tx, command, &document, locked, &data, &evidence, first)
                .await?
        };
        let outcome = match &verdict {
            Verdict::Validated(_) => "validated",
            Verdict::Rejected(_) => "rejected",
        };
        metrics::counter!("sagaflow_documents_validated_total", "outcome" => outcome).increment(1);
        let stored = serde_json::to_value(&verdict).map_err(|e| Failure::Poison(e.to_string()))?;
        documents::set_verdict(tx, document_id, &stored).await?;
        Ok(verdict.into())
    }

    /// The one bounded regeneration: the chain again with the reasons as feedback,
    /// then validation of the new draft.
    #[allow(clippy::too_many_arguments)]
    async fn regenerate(
        &self,
        tx: &mut PgConnection,
        command: &ValidateDocument,
        document: &documents::Document,
        locked: Option<budget::Budget>,
        data: &SagaData,
        evidence: &Evidence,
        first: Validation,
    ) -> Result<Verdict, Failure> {
        let (saga_id, document_id) = (command.saga_id, command.document_id);
        let feedback = first.feedback();
        let rejected = |reasons: Vec<String>| {
            Verdict::Rejected(DocumentRejected {
                saga_id,
                document_id,
                reasons,
                feedback: feedback.clone(),
            })
        };
        let (Some(budget), Some(user_id)) = (locked, data.user_id.as_deref()) else {
            return Ok(rejected(first.reasons));
        };
        if budget.status != "reserved" {
            let mut reasons = first.reasons;
            reasons.push(format!("not regenerated: {CANCELLED}"));
            return Ok(rejected(reasons));
        }
        let facts = generate::facts(
            &document.kind,
            data,
            &command.keywords,
            &data.highlights,
            Some(feedback.clone()),
        );
        let request_key = format!("regenerate:{document_id}");
        let request = DraftRequest {
            saga_id,
            user_id,
            facts,
            template: document.template.as_deref(),
            request_key: &request_key,
            max_tokens_per_call: self.max_tokens_per_call,
        };
        let draft = match generate::draft(tx, &self.chain, &budget, &request).await? {
            Ok(draft) => draft,
            Err((reason, _)) => {
                let mut reasons = first.reasons;
                reasons.push(format!("regeneration failed: {reason}"));
                return Ok(rejected(reasons));
            }
        };
        let second = validate(&draft.content, &command.keywords, evidence);
        if second.passed() {
            documents::set_status(tx, draft.document_id, "validated", Some(scores(&second)))
                .await?;
            documents::void(
                tx,
                saga_id,
                Some(document_id),
                &format!("replaced by {}", draft.document_id),
            )
            .await?;
            return Ok(Verdict::Validated(validated(
                saga_id,
                draft.document_id,
                &second,
            )));
        }
        documents::void(
            tx,
            saga_id,
            Some(draft.document_id),
            "failed validation after regeneration",
        )
        .await?;
        let mut reasons = first.reasons;
        reasons.extend(
            second
                .reasons
                .into_iter()
                .map(|r| format!("after regeneration: {r}")),
        );
        Ok(rejected(reasons))
    }
}

fn scores(validation: &Validation) -> (i32, i32) {
    (validation.keyword_coverage, validation.ats_score)
}

fn validated(saga_id: Uuid, document_id: Uuid, validation: &Validation) -> DocumentValidated {
    DocumentValidated {
        saga_id,
        document_id,
        keyword_coverage: validation.keyword_coverage,
        ats_score: validation.ats_score,
    }
}
