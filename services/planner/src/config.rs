//! Planner settings (flags or `PLANNER_*` environment), validated before anything
//! binds: the listen address, the per-plan and per-day budgets and policy, the tax
//! rate the budgets assume, how the user is addressed, timing, retention, and the
//! planner's own LLM chain. Prices are not settings: they come from the catalogue
//! (`crate::catalog`).
//!
//! ## Why `PLANNER_TAX_RATE_BPS` is 2500
//!
//! The pricing service owns the tax table (a rate per shipping country) and the
//! planner must not ask it synchronously. The budgets and the confirmation
//! threshold are limits on what the user is charged, so the planner counts tax at
//! a rate no lower than any rate the pricing service may apply: 25 %, the highest
//! rate of the shipped table. The real charge is then never above what the
//! planner counted. Operators who change the table must keep this setting at or
//! above its highest rate.
//!
//! ## Why `PLANNER_LLM_BUDGET_MS` is below 30 s
//!
//! The gateway gives a proxied request 30 s (`REQUEST_TIMEOUT` in the gateway's
//! `proxy.rs`) before it answers 503. Intent parsing is cut at
//! `PLANNER_LLM_BUDGET_MS` (default 20 s, at most 25 s) and falls back to the
//! rules, which leaves the rest of the 30 s for the database work, so a client
//! never gives up on a plan that is still being made. A retry of the same request
//! with its `Idempotency-Key` gets the saved answer (or 409 while it runs).
//!
//! The LLM flags are the planner's own (`PLANNER_LLM_PROVIDERS`,
//! `PLANNER_OPENAI_*`, `PLANNER_ANTHROPIC_*`): the generation service flattens
//! `sagaflow_llm::Settings` into the same binary, so the planner cannot reuse its
//! flag names, and a planner may well want another (cheaper) model anyway.

use std::net::SocketAddr;
use std::time::Duration;

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

    /// ISO 4217 currency of the budgets; plans buy at the catalogue's price in it.
    #[arg(id = "planner-currency", long = "planner-currency", env = "PLANNER_CURRENCY",
          value_name = "PLANNER_CURRENCY", default_value = "EUR", value_parser = parse_currency)]
    pub currency: String,

    /// Tax rate (basis points) counted on top of the catalogue price by the budgets
    /// and the confirmation threshold: at least the highest rate pricing applies.
    #[arg(id = "planner-tax-rate-bps", long = "planner-tax-rate-bps", env = "PLANNER_TAX_RATE_BPS",
          value_name = "PLANNER_TAX_RATE_BPS", default_value_t = 2_500,
          value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub tax_rate_bps: u32,

    /// Shipping country (ISO 3166-1 alpha-2) of a plan's checkouts.
    #[arg(id = "planner-shipping-country", long = "planner-shipping-country", env = "PLANNER_SHIPPING_COUNTRY",
          value_name = "PLANNER_SHIPPING_COUNTRY", default_value = "DE", value_parser = parse_country)]
    pub shipping_country: String,

    /// Most money (tax included, minor units) one user's plans may commit per UTC day.
    #[arg(id = "planner-daily-money-minor", long = "planner-daily-money-minor", env = "PLANNER_DAILY_MONEY_MINOR",
          value_name = "PLANNER_DAILY_MONEY_MINOR", default_value_t = 100_000,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub daily_money_minor: i64,

    /// Seconds an unconfirmed plan (awaiting confirmation, dry run) can be confirmed.
    #[arg(id = "planner-plan-ttl-secs", long = "planner-plan-ttl-secs", env = "PLANNER_PLAN_TTL_SECS",
          value_name = "PLANNER_PLAN_TTL_SECS", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub plan_ttl_secs: u64,

    /// Seconds an `Idempotency-Key` of `POST /v1/assistant/intents` is remembered.
    #[arg(id = "planner-idempotency-ttl-secs", long = "planner-idempotency-ttl-secs", env = "PLANNER_IDEMPOTENCY_TTL_SECS",
          value_name = "PLANNER_IDEMPOTENCY_TTL_SECS", default_value_t = 86_400,
          value_parser = clap::value_parser!(u64).range(60..=2_592_000))]
    pub idempotency_ttl_secs: u64,

    /// Days finished plans, ownership records and erasure tombstones are kept.
    #[arg(id = "planner-retention-days", long = "planner-retention-days", env = "PLANNER_RETENTION_DAYS",
          value_name = "PLANNER_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub retention_days: u32,

    /// How often unconfirmed plans are expired and old rows pruned (milliseconds).
    #[arg(id = "planner-sweep-ms", long = "planner-sweep-ms", env = "PLANNER_SWEEP_MS",
          value_name = "PLANNER_SWEEP_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub sweep_ms: u64,

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

    /// `SAGAFLOW_INTERNAL_TOKEN_SECRET`, handed over by `sagaflow serve`: verifies
    /// the gateway's token on every request; the service refuses to start without it.
    #[arg(skip)]
    pub internal_token_secret: Option<sagaflow_service_auth::Secret>,
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
            tax_rate_bps: 2_500,
            shipping_country: "DE".to_owned(),
            daily_money_minor: 100_000,
            plan_ttl_secs: 900,
            idempotency_ttl_secs: 86_400,
            retention_days: 90,
            sweep_ms: 30_000,
            payment_method: "card".to_owned(),
            email_domain: "users.sagaflow.invalid".to_owned(),
            step_timeout_ms: None,
            timer_poll_ms: 100,
            workers: 2,
            llm: LlmSettings::default(),
            internal_token_secret: None,
        }
    }
}

impl Settings {
    /// How long an unconfirmed plan can be confirmed.
    pub fn plan_ttl(&self) -> Duration {
        Duration::from_secs(self.plan_ttl_secs)
    }

    /// How long an intent's `Idempotency-Key` is remembered.
    pub fn idempotency_ttl(&self) -> Duration {
        Duration::from_secs(self.idempotency_ttl_secs)
    }

    /// How long finished plans and other records are kept.
    pub fn retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.retention_days) * 86_400)
    }
}

/// Upper bound of `PLANNER_LLM_BUDGET_MS`: 5 s under the gateway's 30 s proxy timeout.
pub const MAX_LLM_BUDGET_MS: u64 = 25_000;

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
          value_name = "PLANNER_LLM_TIMEOUT_MS", default_value_t = 8_000,
          value_parser = clap::value_parser!(u64).range(1..=25_000))]
    pub timeout_ms: u64,

    /// Total time intent parsing may spend in the LLM chain (every provider and
    /// retry), in milliseconds; then the rules parse the text. At most 25 s: below
    /// the gateway's 30 s proxy timeout (see the module docs).
    #[arg(id = "planner-llm-budget-ms", long = "planner-llm-budget-ms", env = "PLANNER_LLM_BUDGET_MS",
          value_name = "PLANNER_LLM_BUDGET_MS", default_value_t = 20_000,
          value_parser = clap::value_parser!(u64).range(1..=MAX_LLM_BUDGET_MS))]
    pub budget_ms: u64,

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
            timeout_ms: 8_000,
            budget_ms: 20_000,
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

fn parse_country(value: &str) -> Result<String, String> {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(value.to_owned())
    } else {
        Err("must be an ISO 3166-1 alpha-2 code of 2 uppercase letters".to_owned())
    }
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
        assert_eq!(cli.settings.tax_rate_bps, defaults.tax_rate_bps);
        assert_eq!(cli.settings.shipping_country, defaults.shipping_country);
        assert_eq!(cli.settings.daily_money_minor, defaults.daily_money_minor);
        assert_eq!(cli.settings.plan_ttl_secs, defaults.plan_ttl_secs);
        assert_eq!(cli.settings.llm.budget_ms, defaults.llm.budget_ms);
        assert_eq!(cli.settings.llm.timeout_ms, defaults.llm.timeout_ms);
        // Parsing (every provider and retry) ends before the gateway's 30 s proxy timeout.
        assert!(defaults.llm.budget_ms <= MAX_LLM_BUDGET_MS && MAX_LLM_BUDGET_MS < 30_000);
        for (args, key) in [
            (
                ["x", "--planner-max-money-minor=-1"],
                "PLANNER_MAX_MONEY_MINOR",
            ),
            (["x", "--planner-currency=eur"], "PLANNER_CURRENCY"),
            (
                ["x", "--planner-tax-rate-bps=10001"],
                "PLANNER_TAX_RATE_BPS",
            ),
            (
                ["x", "--planner-shipping-country=de"],
                "PLANNER_SHIPPING_COUNTRY",
            ),
            (
                ["x", "--planner-llm-budget-ms=30000"],
                "PLANNER_LLM_BUDGET_MS",
            ),
            (["x", "--planner-plan-ttl-secs=0"], "PLANNER_PLAN_TTL_SECS"),
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
