//! Generation settings, from flags or the environment (`GENERATION_*`, plus the
//! LLM chain's own settings flattened in).

/// Flags of the generation service.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Most tokens one user may have reserved across their running generations;
    /// a GenerateDocument asking for more fails.
    #[arg(
        id = "generation-user-token-limit",
        long = "generation-user-token-limit",
        env = "GENERATION_USER_TOKEN_LIMIT",
        value_name = "GENERATION_USER_TOKEN_LIMIT",
        default_value_t = 200_000,
        value_parser = clap::value_parser!(i64).range(1..)
    )]
    pub user_token_limit: i64,

    /// Most output tokens asked of the LLM in one call.
    #[arg(
        id = "generation-max-tokens-per-call",
        long = "generation-max-tokens-per-call",
        env = "GENERATION_MAX_TOKENS_PER_CALL",
        value_name = "GENERATION_MAX_TOKENS_PER_CALL",
        default_value_t = 2048,
        value_parser = clap::value_parser!(u32).range(16..=200_000)
    )]
    pub max_tokens_per_call: u32,

    /// Concurrent handler tasks of the `generation.commands` consumer.
    #[arg(
        id = "generation-workers",
        long = "generation-workers",
        env = "GENERATION_WORKERS",
        value_name = "GENERATION_WORKERS",
        default_value_t = 2,
        value_parser = clap::value_parser!(u16).range(1..=64)
    )]
    pub workers: u16,

    /// Font files (TrueType, OpenType or a collection's first face), comma-separated,
    /// tried in order for characters the built-in DejaVu fonts lack (Japanese,
    /// Chinese, Korean...). Unset: the CJK fonts found at the usual system paths.
    #[arg(
        id = "generation-pdf-fonts",
        long = "generation-pdf-fonts",
        env = "GENERATION_PDF_FONTS",
        value_name = "GENERATION_PDF_FONTS",
        value_delimiter = ','
    )]
    pub pdf_fonts: Vec<std::path::PathBuf>,

    /// The LLM provider chain.
    #[command(flatten)]
    pub llm: sagaflow_llm::Settings,

    /// The generation service's HTTP API (documents, history, the CV profile;
    /// behind the gateway's internal token).
    /// Not served when unset (the default of [`Settings::default`], for tests).
    #[arg(
        id = "generation-listen",
        long = "generation-listen",
        env = "GENERATION_LISTEN",
        value_name = "GENERATION_LISTEN",
        default_value = "127.0.0.1:8085"
    )]
    pub listen: Option<std::net::SocketAddr>,

    /// The token secrets (`SAGAFLOW_INTERNAL_TOKEN_SECRET`,
    /// `SAGAFLOW_OPERATOR_JWT_SECRET`), handed over by `sagaflow serve`, which
    /// reads them once for every service; the HTTP API refuses to start without
    /// the ones it needs.
    #[arg(skip)]
    pub auth: sagaflow_service_auth::Settings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            user_token_limit: 200_000,
            max_tokens_per_call: 2048,
            workers: 2,
            pdf_fonts: Vec::new(),
            llm: sagaflow_llm::Settings::default(),
            listen: None,
            auth: Default::default(),
        }
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
        assert_eq!(cli.settings.user_token_limit, defaults.user_token_limit);
        assert_eq!(
            cli.settings.max_tokens_per_call,
            defaults.max_tokens_per_call
        );
        assert_eq!(cli.settings.workers, defaults.workers);
        let cli =
            Cli::try_parse_from(["x", "--generation-user-token-limit", "5000"]).expect("valid");
        assert_eq!(cli.settings.user_token_limit, 5000);
        let err = Cli::try_parse_from(["x", "--generation-user-token-limit=0"]).expect_err("zero");
        assert!(
            err.to_string().contains("GENERATION_USER_TOKEN_LIMIT"),
            "{err}"
        );
    }
}
