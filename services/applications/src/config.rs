//! Applications settings, from flags or the environment.

use std::net::SocketAddr;

/// Flags of the applications service.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Address of the applications HTTP API (the gateway forwards to it).
    #[arg(
        id = "applications-listen",
        long = "applications-listen",
        env = "APPLICATIONS_LISTEN",
        value_name = "APPLICATIONS_LISTEN",
        default_value = "127.0.0.1:8087"
    )]
    pub listen: SocketAddr,

    /// Concurrent handler tasks of the `applications.commands` consumer.
    #[arg(
        id = "applications-workers",
        long = "applications-workers",
        env = "APPLICATIONS_WORKERS",
        value_name = "APPLICATIONS_WORKERS",
        default_value_t = 2,
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub workers: u16,

    /// How often the reminder scheduler looks for due reminders (milliseconds).
    #[arg(
        id = "applications-reminder-poll-ms",
        long = "applications-reminder-poll-ms",
        env = "APPLICATIONS_REMINDER_POLL_MS",
        value_name = "APPLICATIONS_REMINDER_POLL_MS",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(10..=60_000)
    )]
    pub reminder_poll_ms: u64,

    /// Days a sent, cancelled or parked reminder is kept before it is pruned.
    #[arg(
        id = "applications-reminder-retention-days",
        long = "applications-reminder-retention-days",
        env = "APPLICATIONS_REMINDER_RETENTION_DAYS",
        value_name = "APPLICATIONS_REMINDER_RETENTION_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=3650)
    )]
    pub reminder_retention_days: u32,

    /// `SAGAFLOW_INTERNAL_TOKEN_SECRET`, handed over by `sagaflow serve`: verifies
    /// the gateway's token on every request; the service refuses to start without it.
    #[arg(skip)]
    pub internal_token_secret: Option<sagaflow_service_auth::Secret>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8087)),
            workers: 2,
            reminder_poll_ms: 1000,
            reminder_retention_days: 30,
            internal_token_secret: None,
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
        assert_eq!(cli.settings.listen, Settings::default().listen);
        assert_eq!(cli.settings.workers, Settings::default().workers);
        let err = Cli::try_parse_from(["x", "--applications-listen=nowhere"]).expect_err("bad");
        assert!(err.to_string().contains("APPLICATIONS_LISTEN"), "{err}");
        let err = Cli::try_parse_from(["x", "--applications-workers=0"]).expect_err("zero");
        assert!(err.to_string().contains("APPLICATIONS_WORKERS"), "{err}");
        assert_eq!(
            cli.settings.reminder_poll_ms,
            Settings::default().reminder_poll_ms
        );
        let err = Cli::try_parse_from(["x", "--applications-reminder-poll-ms=1"]).expect_err("1");
        assert!(
            err.to_string().contains("APPLICATIONS_REMINDER_POLL_MS"),
            "{err}"
        );
    }
}
