//! Planner settings (flags or `PLANNER_*` environment), validated before anything
//! binds: the listen address, the per-plan budget and policy, the price catalogue,
//! how the user is addressed, timing, and the planner's own LLM chain.
//!
//! The LLM flags are the planner's own (`PLANNER_LLM_PROVIDERS`,
//! `PLANNER_OPENAI_*`, `PLANNER_ANTHROPIC_*`): the generation service flattens
//! `sagaflow_llm::Settings` into the same binary, so the planner cannot reuse its
//! flag names, and a planner may well want another (cheaper) model anyway.

use std::net::SocketAddr;

use sagaflow_llm::Secret;

/// Flags of the planner service.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Address of the planner HTTP API (the gateway forwards to it).
    #[arg(
        id = "planner-listen",
        long = "planner-listen",
        env = "PLANNER_LISTEN",
        value_name = "PLANNER_LISTEN",
        default_value = "127.0.0.1:8086"
    )]
    pub listen: SocketAddr,

    /// Most money one plan may spend, in minor units of PLANNER_CURRENCY.
    #[arg(id = "planner-max-money-minor", long = "planner-max-money-minor", env = "PLANNER_MAX_MONEY_MINOR",
          value_name = "PLANNER_MAX_MONEY_MINOR", default_value_t = 50_000,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub max_money_minor: i64,

    /// Most document generations one plan may start.
    #[arg(id = "planner-max-generations", long = "planner-max-generations", env = "PLANNER_MAX_GENERATIONS",
          value_name = "PLANNER_MAX_GENERATIONS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_generations: u32,

    /// Most LLM tokens one plan may reserve (the sum of its generations' budgets).
    #[arg(id = "planner-max-tokens", long = "planner-max-tokens", env = "PLANNER_MAX_TOKENS",
          value_name = "PLANNER_MAX_TOKENS", default_value_t = 8_000,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub max_tokens: i64,

    /// A checkout above this total (minor units) runs only after an explicit
    /// `POST /v1/assistant/plans/{id}/confirm`.
    #[arg(id = "planner-confirm-above-minor", long = "planner-confirm-above-minor", env = "PLANNER_CONFIRM_ABOVE_MINOR",
          value_name = "PLANNER_CONFIRM_ABOVE_MINOR", default_value_t = 10_000,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub confirm_above_minor: i64,

    /// Token budget given to each generation a plan starts.
    #[arg(id = "planner-generation-tokens", long = "planner-generation-tokens", env = "PLANNER_GENERATION_TOKENS",
          value_name = "PLANNER_GENERATION_TOKENS", default_value_t = 4_000,
          value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub generation_tokens: i64,

    /// Intents parsed with a lower confidence (percent) are rejected: rephrase.
    #[arg(id = "planner-min-confidence-percent", long = "planner-min-confidence-percent", env = "PLANNER_MIN_CONFIDENCE_PERCENT",
          value_name = "PLANNER_MIN_CONFIDENCE_PERCENT", default_value_t = 50,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_confidence_percent: u8,

    /// ISO 4217 currency of the budget and of the catalogue prices given here.
    #[arg(id = "planner-currency", long = "planner-currency", env = "PLANNER_CURRENCY",
          value_name = "PLANNER_CURRENCY", default_value = "EUR", value_parser = parse_currency)]
    pub currency: String,

    /// Prices loaded into the catalogue at start, `SKU=minor,SKU=minor` (e.g.
    /// `MUG=1250,PEN=300`). A SKU without a price cannot be bought by a plan.
    #[arg(id = "planner-catalog", long = "planner-catalog", env = "PLANNER_CATALOG",
          value_name = "PLANNER_CATALOG", default_value = "", value_parser = parse_catalog_arg)]
    pub catalog: String,

    /// Payment method used for a plan's checkouts (the user's method on file).
    #[arg(
        id = "planner-payment-method",
        long = "planner-payment-method",
        env = "PLANNER_PAYMENT_METHOD",
        value_name = "PLANNER_PAYMENT_METHOD",
        default_value = "card"
    )]
    pub payment_method: String,

    /// The caller is e-mailed at `<user id>@<domain>` unless the user id is an
    /// e-mail address itself (the gateway forwards no address).
    #[arg(
        id = "planner-email-domain",
        long = "planner-email-domain",
        env = "PLANNER_EMAIL_DOMAIN",
        value_name = "PLANNER_EMAIL_DOMAIN",
        default_value = "users.sagaflow.invalid"
    )]
    pub email_domain: String,

    /// Overrides every plan step's timeout (milliseconds); for tests and drills.
    #[arg(id = "planner-step-timeout-ms", long = "planner-step-timeout-ms", env = "PLANNER_STEP_TIMEOUT_MS",
          value_name = "PLANNER_STEP_TIMEOUT_MS",
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub step_timeout_ms: Option<u64>,

    /// How often due plan timers are looked for when none is known to be due.
    #[arg(id = "planner-timer-poll-ms", long = "planner-timer-poll-ms", env = "PLANNER_TIMER_POLL_MS",
          value_name = "PLANNER_TIMER_POLL_MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(5..=60_000))]
    pub timer_poll_ms: u64,

    /// Concurrent handler tasks of the planner's consumer.
    #[arg(id = "planner-workers", long = "planner-workers", env = "PLANNER_WORKERS",
          value_name = "PLANNER_WORKERS", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,

    /// The planner's LLM chain (intent parsing only).
    #[command(flatten)]
    pub llm: LlmSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8086)),
            max_money_minor: 50_000,
            max_generations: 1,
            max_tokens: 8_000,
            confirm_above_minor: 10_000,
            generation_tokens: 4_000,
            min_confidence_percent: 50,
            currency: "EUR".to_owned(),
            catalog: String::new(),
            payment_method: "card".to_owned(),
            email_domain: "users.sagaflow.invalid".to_owned(),
            step_timeout_ms: None,
            timer_poll_ms: 100,
            workers: 2,
            llm: LlmSettings::default(),
        }
    }
}

impl Settings {
    /// The catalogue prices given by `PLANNER_CATALOG`, `(SKU, minor units)`.
    pub fn catalog_entries(&self) -> Vec<(String, i64)> {
        parse_catalog(&self.catalog).unwrap_or_default()
    }
}

/// The planner's LLM chain; turned into [`sagaflow_llm::Settings`] by [`LlmSettings::chain`].
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct LlmSettings {
    /// Providers that parse intents, in order ("openai,anthropic,offline"); the
    /// offline end of the chain is the planner's rule-based parser.
    #[arg(
        id = "planner-llm-providers",
        long = "planner-llm-providers",
        env = "PLANNER_LLM_PROVIDERS",
        value_name = "PLANNER_LLM_PROVIDERS",
        default_value = "offline"
    )]
    pub providers: String,

    /// Base URL of an OpenAI-compatible API for intent parsing.
    #[arg(id = "planner-openai-base-url", long = "planner-openai-base-url", env = "PLANNER_OPENAI_BASE_URL",
          value_name = "PLANNER_OPENAI_BASE_URL", default_value = sagaflow_llm::DEFAULT_OPENAI_BASE_URL)]
    pub openai_base_url: String,

    /// API key of the OpenAI-compatible provider.
    #[arg(
        id = "planner-openai-api-key",
        long = "planner-openai-api-key",
        env = "PLANNER_OPENAI_API_KEY",
        value_name = "PLANNER_OPENAI_API_KEY",
        hide_env_values = true
    )]
    pub openai_api_key: Option<Secret>,

    /// Model of the OpenAI-compatible provider.
    #[arg(id = "planner-openai-model", long = "planner-openai-model", env = "PLANNER_OPENAI_MODEL",
          value_name = "PLANNER_OPENAI_MODEL", default_value = sagaflow_llm::DEFAULT_OPENAI_MODEL)]
    pub openai_model: String,

    /// Base URL of the Anthropic API for intent parsing.
    #[arg(id = "planner-anthropic-base-url", long = "planner-anthropic-base-url", env = "PLANNER_ANTHROPIC_BASE_URL",
          value_name = "PLANNER_ANTHROPIC_BASE_URL", default_value = sagaflow_llm::DEFAULT_ANTHROPIC_BASE_URL)]
    pub anthropic_base_url: String,

    /// Anthropic API key.
    #[arg(
        id = "planner-anthropic-api-key",
        long = "planner-anthropic-api-key",
        env = "PLANNER_ANTHROPIC_API_KEY",
        value_name = "PLANNER_ANTHROPIC_API_KEY",
        hide_env_values = true
    )]
    pub anthropic_api_key: Option<Secret>,

    /// Anthropic model.
    #[arg(id = "planner-anthropic-model", long = "planner-anthropic-model", env = "PLANNER_ANTHROPIC_MODEL",
          value_name = "PLANNER_ANTHROPIC_MODEL", default_value = sagaflow_llm::DEFAULT_ANTHROPIC_MODEL)]
    pub anthropic_model: String,

    /// Timeout of one LLM call, in milliseconds.
    #[arg(id = "planner-llm-timeout-ms", long = "planner-llm-timeout-ms", env = "PLANNER_LLM_TIMEOUT_MS",
          value_name = "PLANNER_LLM_TIMEOUT_MS", default_value_t = 15_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,

    /// Retries per provider for transient LLM failures.
    #[arg(id = "planner-llm-max-retries", long = "planner-llm-max-retries", env = "PLANNER_LLM_MAX_RETRIES",
          value_name = "PLANNER_LLM_MAX_RETRIES", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(0..=10))]
    pub max_retries: u32,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            providers: "offline".to_owned(),
            openai_base_url: sagaflow_llm::DEFAULT_OPENAI_BASE_URL.to_owned(),
            openai_api_key: None,
            openai_model: sagaflow_llm::DEFAULT_OPENAI_MODEL.to_owned(),
            anthropic_base_url: sagaflow_llm::DEFAULT_ANTHROPIC_BASE_URL.to_owned(),
            anthropic_api_key: None,
            anthropic_model: sagaflow_llm::DEFAULT_ANTHROPIC_MODEL.to_owned(),
            timeout_ms: 15_000,
            max_retries: 1,
        }
    }
}

impl LlmSettings {
    /// The chain these settings describe; a refused value names its `PLANNER_*` key.
    pub fn chain(&self) -> anyhow::Result<sagaflow_llm::Chain> {
        let settings = sagaflow_llm::Settings {
            providers: self.providers.clone(),
            openai_base_url: self.openai_base_url.clone(),
            openai_api_key: self.openai_api_key.clone(),
            openai_model: self.openai_model.clone(),
            anthropic_base_url: self.anthropic_base_url.clone(),
            anthropic_api_key: self.anthropic_api_key.clone(),
            anthropic_model: self.anthropic_model.clone(),
            secrets_file: None,
            timeout_ms: self.timeout_ms,
            max_retries: self.max_retries,
            ..sagaflow_llm::Settings::default()
        };
        sagaflow_llm::Chain::from_settings(&settings).map_err(|err| match err {
            sagaflow_llm::Error::Config { key, reason } => {
                anyhow::anyhow!("invalid setting PLANNER_{key}: {reason}")
            }
            other => anyhow::anyhow!("planner LLM chain: {other}"),
        })
    }
}

fn parse_currency(value: &str) -> Result<String, String> {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(value.to_owned())
    } else {
        Err("must be an ISO 4217 code of 3 uppercase letters".to_owned())
    }
}

fn parse_catalog_arg(value: &str) -> Result<String, String> {
    parse_catalog(value).map(|_| value.to_owned())
}

/// `SKU=minor,SKU=minor` (blank allowed); SKUs are upper-cased.
pub fn parse_catalog(value: &str) -> Result<Vec<(String, i64)>, String> {
    let mut entries = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (sku, price) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}` is not SKU=price"))?;
        let sku = crate::intent::normalise_sku(sku)
            .ok_or_else(|| format!("`{sku}` is not a SKU (1 to 64 of A-Z 0-9 . _ -)"))?;
        let price: i64 = price
            .trim()
            .parse()
            .ok()
            .filter(|p| *p >= 0)
            .ok_or_else(|| format!("price of {sku} must be a whole number of minor units"))?;
        entries.push((sku, price));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    #[test]
    fn defaults_match_and_bad_values_name_the_key() {
        let cli = Cli::try_parse_from(["x"]).expect("defaults");
        let defaults = Settings::default();
        assert_eq!(cli.settings.listen, defaults.listen);
        assert_eq!(cli.settings.max_money_minor, defaults.max_money_minor);
        assert_eq!(
            cli.settings.confirm_above_minor,
            defaults.confirm_above_minor
        );
        assert_eq!(cli.settings.llm.providers, defaults.llm.providers);
        let cli = Cli::try_parse_from(["x", "--planner-catalog", "mug=1250, PEN=300"]).expect("ok");
        assert_eq!(
            cli.settings.catalog_entries(),
            vec![("MUG".to_owned(), 1250), ("PEN".to_owned(), 300)]
        );
        for (args, key) in [
            (
                ["x", "--planner-max-money-minor=-1"],
                "PLANNER_MAX_MONEY_MINOR",
            ),
            (["x", "--planner-currency=eur"], "PLANNER_CURRENCY"),
            (["x", "--planner-catalog=MUG"], "PLANNER_CATALOG"),
            (
                ["x", "--planner-min-confidence-percent=101"],
                "PLANNER_MIN_CONFIDENCE_PERCENT",
            ),
        ] {
            let err = Cli::try_parse_from(args).expect_err("refused");
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn a_bad_llm_setting_names_the_planner_key() {
        let llm = LlmSettings {
            providers: "openai,gemini".into(),
            ..LlmSettings::default()
        };
        let err = llm.chain().expect_err("unknown provider").to_string();
        assert!(err.contains("PLANNER_LLM_PROVIDERS"), "{err}");
        let llm = LlmSettings {
            providers: "openai".into(),
            openai_api_key: Some(Secret::new("sk-test")),
            openai_base_url: "ftp://nowhere".into(),
            ..LlmSettings::default()
        };
        let err = llm.chain().expect_err("bad url").to_string();
        assert!(err.contains("PLANNER_OPENAI_BASE_URL"), "{err}");
        assert!(!err.contains("sk-test"));
    }
}
