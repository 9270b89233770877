//! Catalogue settings, from flags or the environment.

use std::net::SocketAddr;

use sagaflow_service_auth::Secret;

/// Flags of the catalogue service.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Address of the operator API (`PUT /products/{sku}`, `GET /products`).
    #[arg(
        id = "catalog-listen",
        long = "catalog-listen",
        env = "CATALOG_LISTEN",
        value_name = "CATALOG_LISTEN",
        default_value = "127.0.0.1:8088"
    )]
    pub listen: SocketAddr,

    /// Create the demo products (see `seed::demo_products`) at start when they are
    /// missing; existing products are left as operators set them.
    #[arg(
        id = "catalog-seed-demo", long = "catalog-seed-demo",
        env = "CATALOG_SEED_DEMO",
        value_name = "CATALOG_SEED_DEMO",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub seed_demo: bool,

    /// `SAGAFLOW_OPERATOR_JWT_SECRET`, handed over by `sagaflow serve` (which reads
    /// it once for every service): the operator API refuses to start without it.
    #[arg(skip)]
    pub operator_jwt_secret: Option<Secret>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8088)),
            seed_demo: false,
            operator_jwt_secret: None,
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
        // Off by default (the dev environment, which tests run in, turns it on).
        assert_eq!(
            cli.settings.seed_demo,
            std::env::var("CATALOG_SEED_DEMO").is_ok_and(|v| v == "true")
        );
        assert!(!Settings::default().seed_demo);
        let cli = Cli::try_parse_from(["x", "--catalog-seed-demo", "true"]).expect("seed");
        assert!(cli.settings.seed_demo);
        let err = Cli::try_parse_from(["x", "--catalog-seed-demo", "maybe"]).expect_err("bool");
        assert!(err.to_string().contains("CATALOG_SEED_DEMO"), "{err}");
        let err = Cli::try_parse_from(["x", "--catalog-listen", "nowhere"]).expect_err("addr");
        assert!(err.to_string().contains("CATALOG_LISTEN"), "{err}");
    }
}
