//! Cart settings, from flags or the environment.

/// Flags of the cart service.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Concurrent handler tasks of the `cart.commands` consumer.
    #[arg(
        id = "cart-workers", long = "cart-workers",
        env = "CART_WORKERS",
        value_name = "CART_WORKERS",
        default_value_t = 4,
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub workers: u16,

    /// The cart service's HTTP API (behind the gateway's internal token).
    /// Not served when unset (the default of [`Settings::default`], for tests).
    #[arg(
        id = "cart-listen",
        long = "cart-listen",
        env = "CART_LISTEN",
        value_name = "CART_LISTEN",
        default_value = "127.0.0.1:8083"
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
            workers: 4,
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
        assert_eq!(cli.settings.workers, Settings::default().workers);
        let err = Cli::try_parse_from(["x", "--cart-workers=0"]).expect_err("zero");
        assert!(err.to_string().contains("CART_WORKERS"), "{err}");
    }
}
