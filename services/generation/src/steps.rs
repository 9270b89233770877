//! The LLM steps: GenerateDocument (budget, cache, chain) and ValidateDocument
//! (with one bounded regeneration when the draft fails).
//!
//! Each step is decided twice by the same code ([`Generator::plan_generate`],
//! [`Generator::plan_validate`]): in `prepare`, outside the inbox transaction, where
//! a draft to make is claimed and its LLM call made and recorded
//! ([`crate::completions`]); and in `handle`, inside it, where the draft is stored
//! from that record and the reply written. `handle` never calls the LLM.

use sagaflow_bus::Failure;
use sagaflow_events::messages::{
    DocumentGenerated, DocumentRejected, DocumentValidated, GenerateDocument, GenerationFailed,
    ValidateDocument,
};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::budget::{self, Budget, CANCELLED};
use crate::erasure::{self, ERASED};
use crate::generate::{self, DraftRequest};
use crate::handler::Generator;
use crate::prompt::kind_name;
use crate::store::{self, SagaData};
use crate::validate::{Evidence, Validation, validate};
use crate::{completions, documents};
use crate::{stage_budgets, templates};

/// A ValidateDocument reply, stored on the document so a repeat gets the same one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Verdict {
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

/// What a GenerateDocument comes to before any draft is made.
pub(crate) enum GeneratePlan {
    /// No draft to make: the reply.
    Reply(Result<DocumentGenerated, GenerationFailed>),
    /// A draft to make (`budget`: the saga's locked budget row, if any).
    Draft {
        budget: Option<Budget>,
        request: Box<DraftRequest>,
    },
}

/// What a ValidateDocument comes to before any regeneration.
pub(crate) enum ValidatePlan {
    /// The reply; `store`: kept on the document for repeats.
    Reply { verdict: Verdict, store: bool },
    /// The draft passed.
    Passed(Validation),
    /// The draft failed; one regeneration to make.
    Regenerate(Box<Regeneration>),
}

/// The one regeneration of a failed draft.
pub(crate) struct Regeneration {
    first: Validation,
    evidence: Evidence,
    budget: Budget,
    request: DraftRequest,
}

fn evidence(data: &SagaData, kind: &str, ad_keywords: &[String]) -> Evidence {
    let current_year = chrono::Utc::now().format("%Y").to_string();
    Evidence {
        cv_text: data.cv_text.clone(),
        job_title: data.job_title.clone(),
        company: data.company.clone(),
        allowed_years: vec![current_year],
        requirements: data.skills.0.clone(),
        ad_keywords: ad_keywords.to_vec(),
        kind: crate::validate::Kind::of(kind),
    }
}

impl Generator {
    /// GenerateDocument up to the draft, the same in `prepare` and `handle`.
    /// `preparing`: count refusals only once (in `handle`).
    pub(crate) async fn plan_generate(
        &self,
        tx: &mut PgConnection,
        tenant_id: &str,
        command: &GenerateDocument,
        preparing: bool,
    ) -> Result<GeneratePlan, Failure> {
        let saga_id = command.saga_id;
        let failed = |reason: &str, tokens_used: i64| {
            GeneratePlan::Reply(Err(GenerationFailed {
                saga_id,
                reason: reason.to_owned(),
                tokens_used,
            }))
        };
        if erasure::guard(tx, tenant_id, saga_id, None).await? {
            return Ok(failed(ERASED, 0));
        }
        let kind = kind_name(command.kind);
        let request_key = format!("generate:{kind}:{}", command.attempt);
        // The budget lock first: a release that got here before us is final.
        let locked = budget::lock(tx, tenant_id, saga_id).await?;
        if let Some(done) = documents::by_request(tx, tenant_id, saga_id, &request_key).await? {
            if done.status == "void" {
                return Ok(failed(CANCELLED, done.tokens));
            }
            return Ok(GeneratePlan::Reply(Ok(DocumentGenerated {
                saga_id,
                document_id: done.document_id,
                provider: done.provider,
                tokens_used: done.tokens,
                offline: done.offline,
                content: done.content,
            })));
        }
        if let Some(existing) = &locked
            && existing.status != "reserved"
        {
            if !preparing {
                metrics::counter!("sagaflow_generations_refused_total", "reason" => "cancelled")
                    .increment(1);
            }
            return Ok(failed(CANCELLED, 0));
        }
        let Some(data) = store::saga_data(tx, tenant_id, saga_id).await? else {
            return Ok(failed("no profile was compiled for this saga", 0));
        };
        let Some(user_id) = data.user_id.clone() else {
            return Ok(failed("no profile was compiled for this saga", 0));
        };
        let facts = generate::facts(
            kind,
            &data,
            &command.keywords,
            &command.emphasis,
            command.feedback.clone(),
        );
        let template =
            templates::for_generation(tx, tenant_id, &user_id, kind, command.template.as_deref())
                .await?;
        let budgets = stage_budgets::get(tx, tenant_id, &user_id).await?;
        Ok(GeneratePlan::Draft {
            budget: locked,
            request: Box::new(DraftRequest {
                saga_id,
                tenant_id: tenant_id.to_owned(),
                user_id,
                facts,
                template,
                request_key,
                max_tokens_per_call: budgets.generate_limit(self.max_tokens_per_call),
                reserve: Some((command.token_budget, self.user_token_limit)),
            }),
        })
    }

    /// `prepare` of GenerateDocument: claim the draft, then call and record.
    pub(crate) async fn prepare_generate(
        &self,
        pool: &PgPool,
        tenant_id: &str,
        command: &GenerateDocument,
    ) -> Result<(), Failure> {
        let mut tx = pool.begin().await?;
        let call = match self
            .plan_generate(&mut tx, tenant_id, command, true)
            .await?
        {
            GeneratePlan::Reply(_) => None,
            GeneratePlan::Draft { budget, request } => {
                completions::claim(&mut tx, &request, budget.as_ref())
                    .await?
                    .map(|call| (call, request))
            }
        };
        tx.commit().await?;
        if let Some((call, request)) = call {
            completions::call_and_record(
                pool,
                &self.chain,
                tenant_id,
                request.saga_id,
                &request.request_key,
                &call,
            )
            .await?;
        }
        Ok(())
    }

    /// `handle` of GenerateDocument: the reply, the draft stored from the record.
    pub(crate) async fn generate(
        &self,
        tx: &mut PgConnection,
        tenant_id: &str,
        command: &GenerateDocument,
    ) -> Result<Result<DocumentGenerated, GenerationFailed>, Failure> {
        let saga_id = command.saga_id;
        let (budget, request) = match self.plan_generate(tx, tenant_id, command, false).await? {
            GeneratePlan::Reply(reply) => return Ok(reply),
            GeneratePlan::Draft { budget, request } => (budget, request),
        };
        let recorded = completions::settled(tx, &request, budget.as_ref()).await?;
        if recorded.status == "refused" {
            metrics::counter!("sagaflow_generations_refused_total", "reason" => "budget")
                .increment(1);
        }
        Ok(match generate::from_record(tx, &request, recorded).await? {
            Ok(draft) => Ok(DocumentGenerated {
                saga_id,
                document_id: draft.document_id,
                provider: draft.provider,
                tokens_used: draft.tokens_used,
                offline: draft.offline,
                content: draft.content,
            }),
            Err((reason, tokens_used)) => Err(GenerationFailed {
                saga_id,
                reason,
                tokens_used,
            }),
        })
    }

    /// ValidateDocument up to the regeneration, the same in `prepare` and `handle`.
    pub(crate) async fn plan_validate(
        &self,
        tx: &mut PgConnection,
        tenant_id: &str,
        command: &ValidateDocument,
    ) -> Result<ValidatePlan, Failure> {
        let (saga_id, document_id) = (command.saga_id, command.document_id);
        let rejected = |reasons: Vec<String>, feedback: String, store: bool| ValidatePlan::Reply {
            verdict: Verdict::Rejected(DocumentRejected {
                saga_id,
                document_id,
                reasons,
                feedback,
            }),
            store,
        };
        if erasure::guard(tx, tenant_id, saga_id, None).await? {
            return Ok(rejected(vec![ERASED.to_owned()], String::new(), false));
        }
        // Budget first, then the document: the same lock order as generation.
        let locked = budget::lock(tx, tenant_id, saga_id).await?;
        let Some(document) = documents::lock(tx, tenant_id, document_id).await? else {
            return Ok(rejected(
                vec![format!("unknown document {document_id}")],
                String::new(),
                false,
            ));
        };
        if let Some(stored) = documents::verdict(tx, document_id).await? {
            let verdict: Verdict = serde_json::from_value(stored)
                .map_err(|e| Failure::Poison(format!("stored verdict: {e}")))?;
            return Ok(ValidatePlan::Reply {
                verdict,
                store: false,
            });
        }
        if document.saga_id != saga_id {
            return Ok(rejected(
                vec!["the document belongs to another saga".into()],
                String::new(),
                false,
            ));
        }
        if document.status == "void" {
            return Ok(rejected(
                vec!["the document was voided".into()],
                String::new(),
                false,
            ));
        }
        let data = store::saga_data(tx, tenant_id, saga_id)
            .await?
            .unwrap_or_default();
        let evidence = evidence(&data, &document.kind, &command.keywords);
        let first = validate(&command.content, &evidence);
        if first.passed() {
            return Ok(ValidatePlan::Passed(first));
        }
        let feedback = first.feedback();
        let (Some(budget), Some(user_id)) = (locked, data.user_id.clone()) else {
            return Ok(rejected(first.reasons, feedback, true));
        };
        if budget.status != "reserved" {
            let mut reasons = first.reasons;
            reasons.push(format!("not regenerated: {CANCELLED}"));
            return Ok(rejected(reasons, feedback, true));
        }
        let facts = generate::facts(
            &document.kind,
            &data,
            &command.keywords,
            &data.highlights,
            Some(feedback),
        );
        let regenerate_limit = stage_budgets::get(tx, tenant_id, &user_id)
            .await?
            .regenerate_limit(self.max_tokens_per_call);
        let request = DraftRequest {
            saga_id,
            tenant_id: tenant_id.to_owned(),
            user_id,
            facts,
            template: document.template.clone(),
            request_key: format!("regenerate:{document_id}"),
            max_tokens_per_call: regenerate_limit,
            reserve: None,
        };
        Ok(ValidatePlan::Regenerate(Box::new(Regeneration {
            first,
            evidence,
            budget,
            request,
        })))
    }

    /// `prepare` of ValidateDocument: when the draft fails, claim, call and record
    /// its regeneration.
    pub(crate) async fn prepare_validate(
        &self,
        pool: &PgPool,
        tenant_id: &str,
        command: &ValidateDocument,
    ) -> Result<(), Failure> {
        let mut tx = pool.begin().await?;
        let call = match self.plan_validate(&mut tx, tenant_id, command).await? {
            ValidatePlan::Regenerate(regeneration) => {
                let Regeneration {
                    budget, request, ..
                } = *regeneration;
                completions::claim(&mut tx, &request, Some(&budget))
                    .await?
                    .map(|call| (call, request))
            }
            _ => None,
        };
        tx.commit().await?;
        if let Some((call, request)) = call {
            completions::call_and_record(
                pool,
                &self.chain,
                tenant_id,
                request.saga_id,
                &request.request_key,
                &call,
            )
            .await?;
        }
        Ok(())
    }

    /// `handle` of ValidateDocument.
    pub(crate) async fn validate(
        &self,
        tx: &mut PgConnection,
        tenant_id: &str,
        command: &ValidateDocument,
    ) -> Result<Result<DocumentValidated, DocumentRejected>, Failure> {
        let (saga_id, document_id) = (command.saga_id, command.document_id);
        let verdict = match self.plan_validate(tx, tenant_id, command).await? {
            ValidatePlan::Reply {
                verdict,
                store: false,
            } => return Ok(verdict.into()),
            ValidatePlan::Reply { verdict, .. } => verdict,
            ValidatePlan::Passed(first) => {
                documents::set_status(tx, document_id, "validated", Some(scores(&first))).await?;
                Verdict::Validated(validated(saga_id, document_id, &first))
            }
            ValidatePlan::Regenerate(regeneration) => {
                let Regeneration {
                    first,
                    evidence,
                    budget,
                    request,
                } = *regeneration;
                self.regenerated(tx, command, &request, &budget, &evidence, first)
                    .await?
            }
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

    /// The one bounded regeneration, from the completion `prepare` recorded, then
    /// validation of the new draft.
    async fn regenerated(
        &self,
        tx: &mut PgConnection,
        command: &ValidateDocument,
        request: &DraftRequest,
        budget: &Budget,
        evidence: &Evidence,
        first: Validation,
    ) -> Result<Verdict, Failure> {
        let (saga_id, document_id) = (command.saga_id, command.document_id);
        let tenant_id = request.tenant_id.as_str();
        let feedback = first.feedback();
        let rejected = |reasons: Vec<String>| {
            Verdict::Rejected(DocumentRejected {
                saga_id,
                document_id,
                reasons,
                feedback: feedback.clone(),
            })
        };
        let recorded = completions::settled(tx, request, Some(budget)).await?;
        let draft = match generate::from_record(tx, request, recorded).await? {
            Ok(draft) => draft,
            Err((reason, _)) => {
                let mut reasons = first.reasons;
                reasons.push(format!("regeneration failed: {reason}"));
                return Ok(rejected(reasons));
            }
        };
        let second = validate(&draft.content, evidence);
        if second.passed() {
            documents::set_status(tx, draft.document_id, "validated", Some(scores(&second)))
                .await?;
            documents::void(
                tx,
                tenant_id,
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
            tenant_id,
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
