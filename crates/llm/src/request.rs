//! Wire-independent request and response types shared by every provider.

use serde::{Deserialize, Serialize};

/// What to write. Online providers use `system` + `prompt`; the offline provider composes from `facts`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CompletionRequest {
    pub system: String,
    pub prompt: String,
    pub max_tokens: u32,
    pub temperature: f32,
    pub facts: DocumentFacts,
}

/// Structured facts about the document, used by the offline provider (and handy for prompts).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DocumentFacts {
    /// `"cover_letter"` or `"resume"`.
    pub kind: String,
    pub candidate_name: String,
    pub job_title: String,
    pub company: String,
    pub matched_skills: Vec<String>,
    pub keywords: Vec<String>,
    /// CV lines to emphasise.
    pub highlights: Vec<String>,
    pub feedback: Option<String>,
}

/// A finished completion.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Completion {
    pub text: String,
    pub provider: String,
    pub model: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub offline: bool,
    /// USD millionths, from the price table in `price.rs`.
    pub cost_micros: i64,
    /// Every provider tried, in order, with its outcome.
    pub attempts: Vec<Attempt>,
}

/// One provider's turn in a [`crate::Chain::complete`] call (retries included).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attempt {
    pub provider: String,
    /// `"ok"`, `"error: ..."` or `"skipped: breaker open"`.
    pub outcome: String,
    pub millis: u64,
}

/// Rough token estimate used when a provider does not report usage: words × 4 / 3.
pub(crate) fn estimate_tokens(text: &str) -> u32 {
    let words = text.split_whitespace().count() as u64;
    u32::try_from(words * 4 / 3).unwrap_or(u32::MAX)
}
