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
}

impl Default for Settings {
    fn default() -> Self {
        Self { workers: 4 }
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
