//! [`Chain`]: ordered providers with retries, circuit breakers and fallback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::anthropic::Anthropic;
use crate::breaker::{Admission, Breaker, ProviderHealth};
use crate::error::Error;
use crate::openai::OpenAi;
use crate::provider::{CallError, MAX_RETRY_AFTER, Output, Provider};
use crate::request::{Attempt, Completion, CompletionRequest};
use crate::settings::{self, ProviderKind, Settings};

/// First retry waits about this long (with jitter); each further retry doubles it.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Longest backoff between two tries when the server gave no `Retry-After`.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Longest connect timeout, whatever `LLM_TIMEOUT_MS` says.
const CONNECT_TIMEOUT_MAX: Duration = Duration::from_secs(10);

/// Ordered fallback chain of providers. Cheap to clone (shared state behind an `Arc`).
#[derive(Debug, Clone)]
pub struct Chain {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    members: Vec<Member>,
    max_retries: u32,
}

#[derive(Debug)]
struct Member {
    provider: Provider,
    breaker: Breaker,
}

impl Chain {
    /// Builds the chain described by `settings`; providers without a key are left out.
    pub fn from_settings(settings: &Settings) -> Result<Chain, Error> {
        if settings.timeout_ms == 0 {
            return Err(config("LLM_TIMEOUT_MS", "must be at least 1"));
        }
        if settings.breaker_failures == 0 {
            return Err(config("LLM_BREAKER_FAILURES", "must be at least 1"));
        }
        if settings.breaker_cooldown_ms == 0 {
            return Err(config("LLM_BREAKER_COOLDOWN_MS", "must be at least 1"));
        }
        let kinds =
            settings::provider_kinds(&settings.providers).map_err(|reason| Error::Config {
                key: "LLM_PROVIDERS",
                reason,
            })?;
        let file = match &settings.secrets_file {
            Some(path) => settings::read_secrets_file(path)?,
            None => settings::FileSecrets::default(),
        };
        let openai_key = settings
            .openai_api_key
            .clone()
            .filter(|k| !k.is_empty())
            .or(file.openai_api_key);
        let anthropic_key = settings
            .anthropic_api_key
            .clone()
            .filter(|k| !k.is_empty())
            .or(file.anthropic_api_key);

        let mut providers = Vec::with_capacity(kinds.len());
        for kind in kinds {
            match kind {
                ProviderKind::OpenAi => match &openai_key {
                    Some(key) => providers.push(Provider::OpenAi(OpenAi {
                        base_url: settings::check_base_url(&settings.openai_base_url)
                            .map_err(|r| config("OPENAI_BASE_URL", &r))?
                            .to_owned(),
                        api_key: key.clone(),
                        model: non_empty(&settings.openai_model, "OPENAI_MODEL")?,
                    })),
                    None => tracing::warn!(
                        provider = "openai",
                        "OPENAI_API_KEY is not set; provider left out of the LLM chain"
                    ),
                },
                ProviderKind::Anthropic => match &anthropic_key {
                    Some(key) => providers.push(Provider::Anthropic(Anthropic {
                        base_url: settings::check_base_url(&settings.anthropic_base_url)
                            .map_err(|r| config("ANTHROPIC_BASE_URL", &r))?
                            .to_owned(),
                        api_key: key.clone(),
                        model: non_empty(&settings.anthropic_model, "ANTHROPIC_MODEL")?,
                    })),
                    None => tracing::warn!(
                        provider = "anthropic",
                        "ANTHROPIC_API_KEY is not set; provider left out of the LLM chain"
                    ),
                },
                ProviderKind::Offline => providers.push(Provider::Offline),
            }
        }

        let timeout = Duration::from_millis(settings.timeout_ms);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(CONNECT_TIMEOUT_MAX))
            .build()
            .map_err(|_| config("LLM_PROVIDERS", "cannot build the HTTP client"))?;
        let cooldown = Duration::from_millis(settings.breaker_cooldown_ms);
        let chain = Self::assemble(
            client,
            providers,
            settings.max_retries,
            settings.breaker_failures,
            cooldown,
        );
        tracing::info!(providers = ?chain.providers(), "LLM chain ready");
        Ok(chain)
    }

    /// A chain with only the offline provider.
    pub fn offline() -> Chain {
        let defaults = Settings::default();
        Self::assemble(
            reqwest::Client::new(),
            vec![Provider::Offline],
            0,
            defaults.breaker_failures,
            Duration::from_millis(defaults.breaker_cooldown_ms),
        )
    }

    fn assemble(
        client: reqwest::Client,
        providers: Vec<Provider>,
        max_retries: u32,
        breaker_failures: u32,
        cooldown: Duration,
    ) -> Chain {
        let members = providers
            .into_iter()
            .map(|provider| Member {
                breaker: Breaker::new(provider.name(), breaker_failures, cooldown),
                provider,
            })
            .collect();
        Chain {
            inner: Arc::new(Inner {
                client,
                members,
                max_retries,
            }),
        }
    }

    /// Tries providers in order until one answers.
    ///
    /// Per provider: transient failures (5xx, 429, 408, timeouts, connection errors) are retried
    /// up to `LLM_MAX_RETRIES` times with exponential backoff and jitter, or after `Retry-After`
    /// seconds (capped at 30 s); other 4xx and malformed bodies fail the provider at once. Each
    /// provider's breaker skips it while open; a half-open probe is a single try.
    pub async fn complete(&self, request: &CompletionRequest) -> Result<Completion, Error> {
        self.complete_with_key(request, None).await
    }

    /// [`Chain::complete`], with every online request (each provider, each retry)
    /// carrying `idempotency_key` in the `Idempotency-Key` header, so a provider
    /// that deduplicates answers a repeated request (a redelivered command whose
    /// first answer was lost in a crash) without doing or billing the work twice.
    pub async fn complete_with_key(
        &self,
        request: &CompletionRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Completion, Error> {
        let mut attempts = Vec::with_capacity(self.inner.members.len());
        for (index, member) in self.inner.members.iter().enumerate() {
            if index > 0 {
                crate::metrics::fallback();
            }
            let name = member.provider.name();
            let retries = match member.breaker.admit() {
                Admission::Skip => {
                    crate::metrics::call(name, "skipped", None);
                    attempts.push(Attempt {
                        provider: name.to_owned(),
                        outcome: "skipped: breaker open".to_owned(),
                        millis: 0,
                    });
                    continue;
                }
                Admission::Probe => 0,
                Admission::Call => self.inner.max_retries,
            };
            let started = Instant::now();
            let mut guard = ProbeGuard {
                breaker: &member.breaker,
                armed: true,
            };
            let (result, tries) = self
                .call_with_retries(member, request, retries, idempotency_key)
                .await;
            guard.armed = false;
            let elapsed = started.elapsed();
            let millis = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
            match result {
                Ok(output) => {
                    member.breaker.record_success();
                    crate::metrics::call(name, "ok", Some(elapsed.as_secs_f64()));
                    attempts.push(Attempt {
                        provider: name.to_owned(),
                        outcome: "ok".to_owned(),
                        millis,
                    });
                    return Ok(self.finish(member, output, attempts));
                }
                Err(error) => {
                    member.breaker.record_failure();
                    crate::metrics::call(name, "error", Some(elapsed.as_secs_f64()));
                    let outcome = if tries > 1 {
                        format!("error: {} (after {tries} tries)", error.message)
                    } else {
                        format!("error: {}", error.message)
                    };
                    tracing::warn!(provider = name, tries, %outcome, "LLM provider failed");
                    attempts.push(Attempt {
                        provider: name.to_owned(),
                        outcome,
                        millis,
                    });
                }
            }
        }
        Err(Error::AllFailed { attempts })
    }

    /// Breaker state of every provider, in chain order.
    pub fn health(&self) -> Vec<ProviderHealth> {
        self.inner
            .members
            .iter()
            .map(|m| m.breaker.health())
            .collect()
    }

    /// Provider names, in chain order (always ending with `"offline"` for built chains).
    pub fn providers(&self) -> Vec<String> {
        self.inner
            .members
            .iter()
            .map(|m| m.provider.name().to_owned())
            .collect()
    }

    async fn call_with_retries(
        &self,
        member: &Member,
        request: &CompletionRequest,
        retries: u32,
        idempotency_key: Option<&str>,
    ) -> (Result<Output, CallError>, u32) {
        let mut attempt = 0;
        loop {
            match member
                .provider
                .call(&self.inner.client, request, idempotency_key)
                .await
            {
                Ok(output) => return (Ok(output), attempt + 1),
                Err(error) if error.transient && attempt < retries => {
                    let delay = backoff(attempt, error.retry_after);
                    tracing::debug!(
                        provider = member.provider.name(),
                        error = %error.message,
                        delay_ms = delay.as_millis() as u64,
                        "transient LLM failure; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(error) => return (Err(error), attempt + 1),
            }
        }
    }

    fn finish(&self, member: &Member, output: Output, attempts: Vec<Attempt>) -> Completion {
        let name = member.provider.name();
        let cost_micros =
            crate::price::cost_micros(&output.model, output.input_tokens, output.output_tokens);
        crate::metrics::usage(name, output.input_tokens, output.output_tokens, cost_micros);
        Completion {
            text: output.text,
            provider: name.to_owned(),
            model: output.model,
            input_tokens: output.input_tokens,
            output_tokens: output.output_tokens,
            offline: member.provider.is_offline(),
            cost_micros,
            attempts,
        }
    }
}

/// Delay before retry number `attempt + 1`: `Retry-After` when given (capped), else exponential
/// backoff with jitter (50–100 % of `BACKOFF_BASE * 2^attempt`, capped at `BACKOFF_MAX`).
fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(after) = retry_after {
        return after.min(MAX_RETRY_AFTER);
    }
    let exponential = BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(BACKOFF_MAX);
    let jitter: f64 = rand::rng().random_range(0.5..=1.0);
    exponential.mul_f64(jitter)
}

fn config(key: &'static str, reason: &str) -> Error {
    Error::Config {
        key,
        reason: reason.to_owned(),
    }
}

fn non_empty(value: &str, key: &'static str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        Err(config(key, "must not be empty"))
    } else {
        Ok(value.to_owned())
    }
}

/// Frees a half-open probe slot if the caller drops `complete` mid-call.
struct ProbeGuard<'a> {
    breaker: &'a Breaker,
    armed: bool,
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.breaker.release_probe();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        for attempt in 0..20 {
            let d = backoff(attempt, None);
            assert!(d <= BACKOFF_MAX, "{d:?}");
            let full = BACKOFF_BASE
                .saturating_mul(2u32.saturating_pow(attempt.min(16)))
                .min(BACKOFF_MAX);
            assert!(d >= full / 2, "{d:?} < half of {full:?}");
        }
        assert_eq!(
            backoff(0, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(backoff(0, Some(Duration::from_secs(999))), MAX_RETRY_AFTER);
    }
}
