//! The typed intent: the one thing text decides. An LLM (or, offline, the
//! rule-based parser in [`rules`]) turns the user's text into an [`Intent`] with a
//! confidence; everything after that — which commands, whose resources, how much
//! money and how many tokens — is decided by code from the intent's few typed
//! fields and the caller's identity (see `crate::draft` and `crate::validate`).
//!
//! - [`rules`]: the offline parser (keywords, quantities, SKUs, UUIDs, sections).
//! - [`llm`]: the prompt, the strict reading of the LLM's JSON, and [`Interpreter`],
//!   which asks the chain and falls back to the rules.

pub mod llm;
pub mod rules;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use llm::Interpreter;

/// Longest request text, in characters.
pub const MAX_TEXT_CHARS: usize = 40_000;
/// Bounds of a job description, in characters.
pub const MIN_JOB_DESCRIPTION_CHARS: usize = 50;
pub const MAX_JOB_DESCRIPTION_CHARS: usize = 20_000;
/// Longest CV text, in characters.
pub const MAX_CV_CHARS: usize = 20_000;
/// Longest notification message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1_000;
/// Most units of one SKU a plan may buy or add.
pub const MAX_QUANTITY: i32 = 1_000;
/// Longest SKU.
pub const MAX_SKU_CHARS: usize = 64;

/// What the user asked for. Every field an intent needs is optional here: a
/// missing one is reported by [`Intent::missing`] and the plan is not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    /// Buy `quantity` of `sku` (added to the caller's cart, then checked out).
    Buy {
        sku: Option<String>,
        quantity: Option<i32>,
        /// A cart the text named explicitly (it must be the caller's own).
        cart_id: Option<Uuid>,
    },
    /// Add `quantity` of `sku` to the caller's cart.
    AddToCart {
        sku: Option<String>,
        quantity: Option<i32>,
        cart_id: Option<Uuid>,
    },
    /// Write a cover letter or resume for a job description, optionally
    /// attaching it to one of the caller's applications.
    Generate {
        document: Option<DocumentChoice>,
        job_description: Option<String>,
        cv_text: Option<String>,
        attach_to: Option<Uuid>,
        /// The text asked to attach the document but named no application.
        #[serde(default)]
        attach_requested: bool,
    },
    /// Attach an existing generation to an application.
    Attach {
        generation_id: Option<Uuid>,
        application_id: Option<Uuid>,
    },
    /// Send the caller a notification.
    Notify {
        channel: NotifyChannel,
        message: Option<String>,
    },
    /// Nothing the planner can do.
    Unsupported { reason: String },
}

/// The document of a generation intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentChoice {
    CoverLetter,
    Resume,
}

/// Where a notification goes (always to the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyChannel {
    Email,
    Push,
}

impl Intent {
    /// The intent's name (`buy`, `add_to_cart`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Intent::Buy { .. } => "buy",
            Intent::AddToCart { .. } => "add_to_cart",
            Intent::Generate { .. } => "generate",
            Intent::Attach { .. } => "attach",
            Intent::Notify { .. } => "notify",
            Intent::Unsupported { .. } => "unsupported",
        }
    }

    /// The information the intent still needs, by field name.
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        let mut need = |absent: bool, field: &str| {
            if absent {
                missing.push(field.to_owned());
            }
        };
        match self {
            Intent::Buy { sku, quantity, .. } | Intent::AddToCart { sku, quantity, .. } => {
                need(sku.is_none(), "sku");
                need(quantity.is_none(), "quantity");
            }
            Intent::Generate {
                document,
                job_description,
                cv_text,
                attach_to,
                attach_requested,
            } => {
                need(document.is_none(), "document");
                need(job_description.is_none(), "job_description");
                need(cv_text.is_none(), "cv_text");
                need(*attach_requested && attach_to.is_none(), "application_id");
            }
            Intent::Attach {
                generation_id,
                application_id,
            } => {
                need(generation_id.is_none(), "generation_id");
                need(application_id.is_none(), "application_id");
            }
            Intent::Notify { message, .. } => need(message.is_none(), "message"),
            Intent::Unsupported { .. } => {}
        }
        missing
    }
}

/// Who parsed the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedBy {
    /// `offline` for the rule-based parser, else the LLM provider.
    pub provider: String,
    pub model: String,
    pub offline: bool,
    /// LLM tokens spent on parsing (0 offline).
    pub tokens: u32,
}

/// An intent with what the parser knew about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedIntent {
    pub intent: Intent,
    /// 0 to 1.
    pub confidence: f64,
    /// See [`Intent::missing`].
    pub missing: Vec<String>,
    pub parsed_by: ParsedBy,
    /// What was ignored and why: extra instructions in the text, fields of the LLM
    /// answer outside the intent's schema, a fallback to the rules.
    pub notes: Vec<String>,
}

/// A SKU in canonical form (upper case, 1 to 64 of `A-Z 0-9 . _ -`), if `raw` is one.
pub fn normalise_sku(raw: &str) -> Option<String> {
    let sku = raw.trim().to_uppercase();
    let valid = !sku.is_empty()
        && sku.chars().count() <= MAX_SKU_CHARS
        && sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && sku
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    valid.then_some(sku)
}

/// `text` trimmed, if it has `min..=max` characters and no control characters
/// other than line breaks and tabs.
pub fn bounded_text(text: &str, min: usize, max: usize) -> Option<String> {
    let text = text.trim();
    let chars = text.chars().count();
    let clean = !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    (chars >= min.max(1) && chars <= max && clean).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_normalised_or_refused() {
        assert_eq!(normalise_sku(" sku-1 "), Some("SKU-1".to_owned()));
        assert_eq!(normalise_sku("MUG_2.b"), Some("MUG_2.B".to_owned()));
        for bad in ["", "-X", "a b", "x;drop", &"A".repeat(65)] {
            assert_eq!(normalise_sku(bad), None, "{bad}");
        }
    }

    #[test]
    fn missing_fields_are_named() {
        let buy = Intent::Buy {
            sku: None,
            quantity: Some(2),
            cart_id: None,
        };
        assert_eq!(buy.missing(), vec!["sku"]);
        let generate = Intent::Generate {
            document: Some(DocumentChoice::Resume),
            job_description: Some("x".into()),
            cv_text: None,
            attach_to: None,
            attach_requested: true,
        };
        assert_eq!(generate.missing(), vec!["cv_text", "application_id"]);
    }
}
