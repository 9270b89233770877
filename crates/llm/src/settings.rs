//! [`Settings`]: flags / environment for the provider chain, plus the optional secrets file.

use std::path::PathBuf;

use crate::error::Error;
use crate::secret::Secret;

/// Provider chain configuration (flags or environment).
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Ordered fallback chain, e.g. "openai,anthropic,offline". A provider whose key is missing
    /// is left out (logged once, key never printed); the offline provider is always last.
    #[arg(id = "llm-providers", long = "llm-providers", env = "LLM_PROVIDERS", value_name = "LLM_PROVIDERS",
          default_value = "offline", value_parser = parse_providers)]
    pub providers: String,

    /// Base URL of an OpenAI-compatible API (OpenAI, Groq, vLLM, Ollama, llama.cpp).
    #[arg(id = "openai-base-url", long = "openai-base-url", env = "OPENAI_BASE_URL", value_name = "OPENAI_BASE_URL",
          default_value = DEFAULT_OPENAI_BASE_URL, value_parser = parse_base_url)]
    pub openai_base_url: String,

    /// API key for the OpenAI-compatible provider.
    #[arg(
        id = "openai-api-key",
        long = "openai-api-key",
        env = "OPENAI_API_KEY",
        value_name = "OPENAI_API_KEY",
        hide_env_values = true
    )]
    pub openai_api_key: Option<Secret>,

    /// Model for the OpenAI-compatible provider.
    #[arg(id = "openai-model", long = "openai-model", env = "OPENAI_MODEL", value_name = "OPENAI_MODEL",
          default_value = DEFAULT_OPENAI_MODEL)]
    pub openai_model: String,

    /// Base URL of the Anthropic API.
    #[arg(id = "anthropic-base-url", long = "anthropic-base-url", env = "ANTHROPIC_BASE_URL", value_name = "ANTHROPIC_BASE_URL",
          default_value = DEFAULT_ANTHROPIC_BASE_URL, value_parser = parse_base_url)]
    pub anthropic_base_url: String,

    /// API key for Anthropic.
    #[arg(
        id = "anthropic-api-key",
        long = "anthropic-api-key",
        env = "ANTHROPIC_API_KEY",
        value_name = "ANTHROPIC_API_KEY",
        hide_env_values = true
    )]
    pub anthropic_api_key: Option<Secret>,

    /// Anthropic model.
    #[arg(id = "anthropic-model", long = "anthropic-model", env = "ANTHROPIC_MODEL", value_name = "ANTHROPIC_MODEL",
          default_value = DEFAULT_ANTHROPIC_MODEL)]
    pub anthropic_model: String,

    /// Optional file of KEY=VALUE lines supplying OPENAI_API_KEY / ANTHROPIC_API_KEY
    /// (a key given by flag or environment wins).
    #[arg(
        id = "llm-secrets-file",
        long = "llm-secrets-file",
        env = "LLM_SECRETS_FILE",
        value_name = "LLM_SECRETS_FILE"
    )]
    pub secrets_file: Option<PathBuf>,

    /// Timeout of one HTTP call, in milliseconds.
    #[arg(id = "llm-timeout-ms", long = "llm-timeout-ms", env = "LLM_TIMEOUT_MS", value_name = "LLM_TIMEOUT_MS",
          default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,

    /// Retries per provider for transient failures (5xx, 429, timeouts, connection errors).
    #[arg(id = "llm-max-retries", long = "llm-max-retries", env = "LLM_MAX_RETRIES", value_name = "LLM_MAX_RETRIES",
          default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub max_retries: u32,

    /// Consecutive failed calls that open a provider's circuit breaker.
    #[arg(id = "llm-breaker-failures", long = "llm-breaker-failures", env = "LLM_BREAKER_FAILURES", value_name = "LLM_BREAKER_FAILURES",
          default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub breaker_failures: u32,

    /// How long an open breaker skips its provider before one probe call, in milliseconds.
    #[arg(id = "llm-breaker-cooldown-ms", long = "llm-breaker-cooldown-ms", env = "LLM_BREAKER_COOLDOWN_MS", value_name = "LLM_BREAKER_COOLDOWN_MS",
          default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub breaker_cooldown_ms: u64,
}

pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-3-5-haiku-latest";

impl Default for Settings {
    /// Offline only.
    fn default() -> Self {
        Self {
            providers: "offline".to_owned(),
            openai_base_url: DEFAULT_OPENAI_BASE_URL.to_owned(),
            openai_api_key: None,
            openai_model: DEFAULT_OPENAI_MODEL.to_owned(),
            anthropic_base_url: DEFAULT_ANTHROPIC_BASE_URL.to_owned(),
            anthropic_api_key: None,
            anthropic_model: DEFAULT_ANTHROPIC_MODEL.to_owned(),
            secrets_file: None,
            timeout_ms: 30_000,
            max_retries: 2,
            breaker_failures: 3,
            breaker_cooldown_ms: 30_000,
        }
    }
}

/// A provider named in `LLM_PROVIDERS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProviderKind {
    OpenAi,
    Anthropic,
    Offline,
}

/// Parses `LLM_PROVIDERS`: comma-separated, case-insensitive, duplicates dropped, offline last.
pub(crate) fn provider_kinds(value: &str) -> Result<Vec<ProviderKind>, String> {
    let mut kinds = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let kind = match name.to_ascii_lowercase().as_str() {
            "openai" => ProviderKind::OpenAi,
            "anthropic" => ProviderKind::Anthropic,
            "offline" => ProviderKind::Offline,
            other => {
                return Err(format!(
                    "unknown provider {other:?} (expected openai, anthropic or offline)"
                ));
            }
        };
        if !kinds.contains(&kind) && kind != ProviderKind::Offline {
            kinds.push(kind);
        }
    }
    kinds.push(ProviderKind::Offline);
    Ok(kinds)
}

fn parse_providers(value: &str) -> Result<String, String> {
    provider_kinds(value).map(|_| value.to_owned())
}

fn parse_base_url(value: &str) -> Result<String, String> {
    check_base_url(value).map(str::to_owned)
}

/// Trimmed URL without trailing slash; must be http(s).
pub(crate) fn check_base_url(value: &str) -> Result<&str, String> {
    let url = value.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| "must start with http:// or https://".to_owned())?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("has no host".to_owned());
    }
    Ok(url)
}

/// Keys read from a secrets file.
#[derive(Debug, Default)]
pub(crate) struct FileSecrets {
    pub openai_api_key: Option<Secret>,
    pub anthropic_api_key: Option<Secret>,
}

/// Reads `KEY=VALUE` lines (blank lines, `#` comments, `export ` prefixes and quotes allowed).
/// Errors never quote the file's content.
pub(crate) fn read_secrets_file(path: &std::path::Path) -> Result<FileSecrets, Error> {
    let content = std::fs::read_to_string(path).map_err(|e| Error::Config {
        key: "LLM_SECRETS_FILE",
        reason: format!("cannot read {}: {}", path.display(), e.kind()),
    })?;
    let mut secrets = FileSecrets::default();
    for (number, line) in content.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(Error::Config {
                key: "LLM_SECRETS_FILE",
                reason: format!("line {} is not KEY=VALUE", number + 1),
            });
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        let secret = Some(Secret::new(value)).filter(|s| !s.is_empty());
        match key.trim() {
            "OPENAI_API_KEY" => secrets.openai_api_key = secret,
            "ANTHROPIC_API_KEY" => secrets.anthropic_api_key = secret,
            _ => {}
        }
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_parse_dedupe_and_end_offline() {
        assert_eq!(
            provider_kinds("Offline, anthropic,openai,anthropic").expect("valid"),
            vec![
                ProviderKind::Anthropic,
                ProviderKind::OpenAi,
                ProviderKind::Offline
            ]
        );
        assert_eq!(
            provider_kinds("").expect("valid"),
            vec![ProviderKind::Offline]
        );
        assert!(provider_kinds("openai,gemini").is_err());
    }

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            check_base_url("http://127.0.0.1:1/v1/"),
            Ok("http://127.0.0.1:1/v1")
        );
        assert!(check_base_url("ftp://x").is_err());
        assert!(check_base_url("https://").is_err());
    }
}
