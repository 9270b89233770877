//! The crate's [`Error`] type. Messages never contain API keys.

use crate::request::Attempt;

/// Why a completion or a configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Every provider in the chain failed or was skipped; `attempts` says how, in order.
    #[error("all LLM providers failed: {}", summarize(attempts))]
    AllFailed { attempts: Vec<Attempt> },
    /// A setting was refused; `key` is the environment variable name.
    #[error("invalid setting {key}: {reason}")]
    Config { key: &'static str, reason: String },
}

fn summarize(attempts: &[Attempt]) -> String {
    if attempts.is_empty() {
        return "no provider configured".to_owned();
    }
    attempts
        .iter()
        .map(|a| format!("{} ({})", a.provider, a.outcome))
        .collect::<Vec<_>>()
        .join("; ")
}
