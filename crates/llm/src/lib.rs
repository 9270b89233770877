//! # sagaflow-llm
//!
//! LLM providers with retries, circuit breakers and fallback, used by the generation service.
//!
//! A [`Chain`] holds an ordered list of providers built from [`Settings`]
//! (`LLM_PROVIDERS=openai,anthropic,offline`). [`Chain::complete`] tries them in order:
//!
//! * **OpenAI-compatible** — `POST {OPENAI_BASE_URL}/chat/completions` with a bearer key; works
//!   with OpenAI, Groq, vLLM, Ollama or llama.cpp by base URL.
//! * **Anthropic** — `POST {ANTHROPIC_BASE_URL}/v1/messages` (`anthropic-version: 2023-06-01`).
//! * **Offline** — a deterministic template that composes a cover letter or resume from
//!   [`DocumentFacts`] only; always last in the chain, so a completion is always produced.
//!
//! Both online adapters are **non-streaming**: one request, one JSON answer.
//! [`Chain::complete_with_key`] sends an `Idempotency-Key` header with every online
//! request (each retry included), so a provider that deduplicates answers a request
//! repeated after a crash without doing or billing it twice.
//!
//! Per provider, transient failures (5xx, 429, 408, timeouts, connection errors) are retried
//! with exponential backoff and jitter, honouring `Retry-After` seconds (capped at 30 s);
//! other 4xx answers and malformed bodies fail the provider at once. A circuit breaker per
//! provider opens after `LLM_BREAKER_FAILURES` consecutive failed calls, skips the provider
//! for `LLM_BREAKER_COOLDOWN_MS`, then lets one single-try probe through (success closes it,
//! failure re-opens it). Every provider's turn is reported in [`Completion::attempts`].
//!
//! A provider whose API key is missing is left out of the chain (a warning names the
//! variable, never the value). Keys are held in [`Secret`], whose `Debug`/`Display` print
//! `***`; error bodies echoed by servers are redacted before they reach errors or logs.
//!
//! Metrics (via the `metrics` facade; names in [`metrics`]): `sagaflow_llm_calls_total`,
//! `sagaflow_llm_call_seconds`, `sagaflow_llm_tokens_total`, `sagaflow_llm_cost_micros_total`,
//! `sagaflow_llm_breaker_state`, `sagaflow_llm_fallbacks_total`. Costs come from the price
//! table in `price.rs` (USD per million tokens by model prefix, with a default).
//!
//! ## Layout
//!
//! | file | concept |
//! |------|---------|
//! | `settings.rs` | [`Settings`] (flags/env), provider list parsing, secrets file |
//! | `secret.rs` | [`Secret`], an API key that prints as `***` |
//! | `request.rs` | [`CompletionRequest`], [`DocumentFacts`], [`Completion`], [`Attempt`] |
//! | `error.rs` | [`Error`] |
//! | `provider.rs` | the `Provider` enum and shared HTTP plumbing / failure classification |
//! | `openai.rs` | OpenAI-compatible Chat Completions adapter |
//! | `anthropic.rs` | Anthropic Messages adapter |
//! | `offline.rs` | deterministic offline composer |
//! | `breaker.rs` | per-provider circuit breaker, [`ProviderHealth`] |
//! | `chain.rs` | [`Chain`]: fallback, retries, backoff |
//! | `price.rs` | price table and cost computation |
//! | `metrics.rs` | metric names and recording helpers |

mod anthropic;
mod breaker;
mod chain;
mod error;
pub mod metrics;
mod offline;
mod openai;
pub mod price;
mod provider;
mod request;
mod secret;
mod settings;

pub use breaker::ProviderHealth;
pub use chain::Chain;
pub use error::Error;
pub use request::{Attempt, Completion, CompletionRequest, DocumentFacts};
pub use secret::Secret;
pub use settings::{
    DEFAULT_ANTHROPIC_BASE_URL, DEFAULT_ANTHROPIC_MODEL, DEFAULT_OPENAI_BASE_URL,
    DEFAULT_OPENAI_MODEL, Settings,
};
