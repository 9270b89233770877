//! Notification settings, from flags or the environment.

/// Flags of the notification service.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Concurrent handler tasks of the `notifications` consumer.
    #[arg(
        id = "notification-workers", long = "notification-workers",
        env = "NOTIFICATION_WORKERS",
        value_name = "NOTIFICATION_WORKERS",
        default_value_t = 4,
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub workers: u16,

    /// The notification service's HTTP API (`GET|PUT /preferences`, `POST
    /// /notifications/test` behind the gateway's internal token; `POST /send`
    /// unguarded).
    /// Not served when unset (the default of [`Settings::default`], for tests).
    #[arg(
        id = "notification-listen",
        long = "notification-listen",
        env = "NOTIFICATION_LISTEN",
        value_name = "NOTIFICATION_LISTEN",
        default_value = "127.0.0.1:8084"
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
        let err = Cli::try_parse_from(["x", "--notification-workers=0"]).expect_err("zero");
        assert!(err.to_string().contains("NOTIFICATION_WORKERS"), "{err}");
    }
}
