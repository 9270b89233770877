//! Payment settings, from flags or the environment.

/// Flags of the payment service (the simulated provider's behaviour).
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Share of payments the simulated provider declines at random, 0.0..=1.0
    /// (`payment_method = "card_declined"` is always declined).
    #[arg(
        id = "payment-decline-rate", long = "payment-decline-rate",
        env = "PAYMENT_DECLINE_RATE",
        value_name = "PAYMENT_DECLINE_RATE",
        default_value_t = 0.0,
        value_parser = parse_rate
    )]
    pub decline_rate: f64,

    /// Simulated provider latency per call, in milliseconds.
    #[arg(
        id = "payment-latency-ms", long = "payment-latency-ms",
        env = "PAYMENT_LATENCY_MS",
        value_name = "PAYMENT_LATENCY_MS",
        default_value_t = 0,
        value_parser = clap::value_parser!(u64).range(0..=60_000)
    )]
    pub latency_ms: u64,

    /// Seed of the random declines, for reproducible runs; random if unset.
    #[arg(
        id = "payment-random-seed",
        long = "payment-random-seed",
        env = "PAYMENT_RANDOM_SEED",
        value_name = "PAYMENT_RANDOM_SEED"
    )]
    pub seed: Option<u64>,

    /// Concurrent handler tasks of the `payment.commands` consumer.
    #[arg(
        id = "payment-workers", long = "payment-workers",
        env = "PAYMENT_WORKERS",
        value_name = "PAYMENT_WORKERS",
        default_value_t = 4,
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub workers: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            decline_rate: 0.0,
            latency_ms: 0,
            seed: None,
            workers: 4,
        }
    }
}

fn parse_rate(value: &str) -> Result<f64, String> {
    let rate: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is not within 0.0..=1.0"))
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
        assert_eq!(cli.settings.decline_rate, Settings::default().decline_rate);
        assert_eq!(cli.settings.latency_ms, Settings::default().latency_ms);
        assert_eq!(cli.settings.workers, Settings::default().workers);
        let cli = Cli::try_parse_from(["x", "--payment-decline-rate", "0.25"]).expect("valid");
        assert_eq!(cli.settings.decline_rate, 0.25);
        for bad in ["1.5", "-0.1", "NaN", "lots"] {
            let arg = format!("--payment-decline-rate={bad}");
            let err = Cli::try_parse_from(["x", arg.as_str()]).expect_err(bad);
            assert!(err.to_string().contains("PAYMENT_DECLINE_RATE"), "{err}");
        }
        let err = Cli::try_parse_from(["x", "--payment-latency-ms=-1"]).expect_err("negative");
        assert!(err.to_string().contains("PAYMENT_LATENCY_MS"), "{err}");
    }
}
