//! Pricing settings, from flags or the environment.

/// Flags of the pricing service.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Tax rate in basis points (2000 = 20%), applied to subtotal minus discount.
    #[arg(
        id = "pricing-tax-basis-points", long = "pricing-tax-basis-points",
        env = "PRICING_TAX_BASIS_POINTS",
        value_name = "PRICING_TAX_BASIS_POINTS",
        default_value_t = 2000,
        value_parser = clap::value_parser!(u32).range(0..=10_000)
    )]
    pub tax_basis_points: u32,

    /// Concurrent handler tasks of the `pricing.commands` consumer.
    #[arg(
        id = "pricing-workers", long = "pricing-workers",
        env = "PRICING_WORKERS",
        value_name = "PRICING_WORKERS",
        default_value_t = 4,
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub workers: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tax_basis_points: 2000,
            workers: 4,
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
            cli.settings.tax_basis_points,
            Settings::default().tax_basis_points
        );
        assert_eq!(cli.settings.workers, Settings::default().workers);
        let err =
            Cli::try_parse_from(["x", "--pricing-tax-basis-points=10001"]).expect_err("over 100%");
        assert!(
            err.to_string().contains("PRICING_TAX_BASIS_POINTS"),
            "{err}"
        );
    }
}
