//! Order settings, from flags or the environment.

/// Flags of the order service.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Largest order total accepted, in minor units; a larger order fails with a
    /// reason (a business rule, e.g. a fraud limit).
    #[arg(
        id = "order-max-total-minor", long = "order-max-total-minor",
        env = "ORDER_MAX_TOTAL_MINOR",
        value_name = "ORDER_MAX_TOTAL_MINOR",
        default_value_t = i64::MAX,
        value_parser = clap::value_parser!(i64).range(0..)
    )]
    pub max_order_total_minor: i64,

    /// Concurrent handler tasks of the `order.commands` consumer.
    #[arg(
        id = "order-workers", long = "order-workers",
        env = "ORDER_WORKERS",
        value_name = "ORDER_WORKERS",
        default_value_t = 4,
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub workers: u16,

    /// The order service's read API (`GET /orders`, `GET /orders/{id}` behind the
    /// gateway's internal token; `GET /operator/orders` with an operator token).
    /// Not served when unset (the default of [`Settings::default`], for tests).
    #[arg(
        id = "order-listen",
        long = "order-listen",
        env = "ORDER_LISTEN",
        value_name = "ORDER_LISTEN",
        default_value = "127.0.0.1:8082"
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
            max_order_total_minor: i64::MAX,
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
        assert_eq!(
            cli.settings.max_order_total_minor,
            Settings::default().max_order_total_minor
        );
        assert_eq!(cli.settings.workers, Settings::default().workers);
        let err = Cli::try_parse_from(["x", "--order-max-total-minor=-5"]).expect_err("negative");
        assert!(err.to_string().contains("ORDER_MAX_TOTAL_MINOR"), "{err}");
        let err = Cli::try_parse_from(["x", "--order-workers=0"]).expect_err("zero");
        assert!(err.to_string().contains("ORDER_WORKERS"), "{err}");
    }
}
