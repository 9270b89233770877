//! Pricing settings, from flags or the environment.

use std::net::SocketAddr;

use sagaflow_service_auth::Secret;

/// Flags of the pricing service.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// ISO 3166-1 alpha-2 country whose tax rate applies when a `PriceOrder` names
    /// no shipping country.
    #[arg(
        id = "pricing-default-country", long = "pricing-default-country",
        env = "PRICING_DEFAULT_COUNTRY",
        value_name = "PRICING_DEFAULT_COUNTRY",
        default_value = "DE",
        value_parser = parse_country
    )]
    pub default_country: String,

    /// Concurrent handler tasks of the `pricing.commands` / `catalog.events` consumer.
    #[arg(
        id = "pricing-workers", long = "pricing-workers",
        env = "PRICING_WORKERS",
        value_name = "PRICING_WORKERS",
        default_value_t = 4,
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub workers: u16,

    /// Address of the operator API (discount codes, tax rates).
    #[arg(
        id = "pricing-listen",
        long = "pricing-listen",
        env = "PRICING_LISTEN",
        value_name = "PRICING_LISTEN",
        default_value = "127.0.0.1:8089"
    )]
    pub listen: SocketAddr,

    /// `SAGAFLOW_OPERATOR_JWT_SECRET`, handed over by `sagaflow serve` (which reads
    /// it once for every service): without it the operator API is not served.
    #[arg(skip)]
    pub operator_jwt_secret: Option<Secret>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_country: "DE".to_owned(),
            workers: 4,
            listen: SocketAddr::from(([127, 0, 0, 1], 8089)),
            operator_jwt_secret: None,
        }
    }
}

/// An ISO 3166-1 alpha-2 code: two ASCII letters, returned upper case.
pub fn parse_country(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(value.to_ascii_uppercase())
    } else {
        Err(format!(
            "`{value}` is not an ISO 3166-1 alpha-2 country code (two letters, e.g. DE)"
        ))
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
        assert_eq!(cli.settings.default_country, defaults.default_country);
        assert_eq!(cli.settings.workers, defaults.workers);
        assert_eq!(cli.settings.listen, defaults.listen);
        let cli = Cli::try_parse_from(["x", "--pricing-default-country=fr"]).expect("lower case");
        assert_eq!(cli.settings.default_country, "FR");
        let err = Cli::try_parse_from(["x", "--pricing-default-country=DEU"]).expect_err("alpha-3");
        assert!(err.to_string().contains("PRICING_DEFAULT_COUNTRY"), "{err}");
        let err = Cli::try_parse_from(["x", "--pricing-workers=0"]).expect_err("no workers");
        assert!(err.to_string().contains("PRICING_WORKERS"), "{err}");
    }
}
