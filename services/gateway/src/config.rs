//! Gateway settings, read from flags or the environment and validated before
//! anything binds: a value out of range is refused with an error naming its key.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Default `GATEWAY_LISTEN`.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// Default `GATEWAY_IDEMPOTENCY_TTL_SECS` (one day).
pub const DEFAULT_IDEMPOTENCY_TTL_SECS: u32 = 86_400;
/// Default `GATEWAY_MAX_BODY_BYTES` (64 KiB).
pub const DEFAULT_MAX_BODY_BYTES: u32 = 65_536;

/// HTTP and idempotency settings of the gateway.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Address the HTTP server binds (`host:port`).
    #[arg(
        id = "gateway-listen", long = "gateway-listen",
        env = "GATEWAY_LISTEN",
        value_name = "GATEWAY_LISTEN",
        default_value_t = DEFAULT_LISTEN
    )]
    pub listen: SocketAddr,

    /// How long an `Idempotency-Key` is remembered; an older key counts as new.
    #[arg(
        id = "gateway-idempotency-ttl-secs", long = "gateway-idempotency-ttl-secs",
        env = "GATEWAY_IDEMPOTENCY_TTL_SECS",
        value_name = "GATEWAY_IDEMPOTENCY_TTL_SECS",
        default_value_t = DEFAULT_IDEMPOTENCY_TTL_SECS,
        value_parser = clap::value_parser!(u32).range(1..=2_592_000)
    )]
    pub idempotency_ttl_secs: u32,

    /// Largest accepted request body; larger ones get 413.
    #[arg(
        id = "gateway-max-body-bytes", long = "gateway-max-body-bytes",
        env = "GATEWAY_MAX_BODY_BYTES",
        value_name = "GATEWAY_MAX_BODY_BYTES",
        default_value_t = DEFAULT_MAX_BODY_BYTES,
        value_parser = clap::value_parser!(u32).range(1_024..=16_777_216)
    )]
    pub max_body_bytes: u32,

    /// The generation service's document API, which the gateway proxies
    /// downloads to after checking the caller owns the document.
    #[arg(
        id = "gateway-generation-url", long = "gateway-generation-url",
        env = "GATEWAY_GENERATION_URL",
        value_name = "GATEWAY_GENERATION_URL",
        default_value = DEFAULT_GENERATION_URL
    )]
    pub generation_url: String,
}

/// Where `sagaflow serve` puts the generation service's API by default.
pub const DEFAULT_GENERATION_URL: &str = "http://127.0.0.1:8085";

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            idempotency_ttl_secs: DEFAULT_IDEMPOTENCY_TTL_SECS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            generation_url: DEFAULT_GENERATION_URL.to_owned(),
        }
    }
}

impl Settings {
    /// The idempotency key lifetime.
    pub fn idempotency_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.idempotency_ttl_secs))
    }

    /// The body limit in bytes.
    pub fn max_body(&self) -> usize {
        usize::try_from(self.max_body_bytes).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        gateway: Settings,
    }

    #[test]
    fn defaults_match_default_impl() {
        let cli = Cli::try_parse_from(["x"]).expect("defaults parse");
        let default = Settings::default();
        assert_eq!(cli.gateway.listen, default.listen);
        assert_eq!(cli.gateway.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cli.gateway.idempotency_ttl_secs, 86_400);
        assert_eq!(cli.gateway.max_body_bytes, 65_536);
        assert_eq!(default.idempotency_ttl(), Duration::from_secs(86_400));
        assert_eq!(default.max_body(), 65_536);
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        for (flag, value, key) in [
            ("--gateway-listen", "nowhere", "GATEWAY_LISTEN"),
            (
                "--gateway-idempotency-ttl-secs",
                "0",
                "GATEWAY_IDEMPOTENCY_TTL_SECS",
            ),
            (
                "--gateway-idempotency-ttl-secs",
                "99999999",
                "GATEWAY_IDEMPOTENCY_TTL_SECS",
            ),
            ("--gateway-max-body-bytes", "10", "GATEWAY_MAX_BODY_BYTES"),
            ("--gateway-max-body-bytes", "-1", "GATEWAY_MAX_BODY_BYTES"),
        ] {
            let arg = format!("{flag}={value}");
            let err = Cli::try_parse_from(["x", arg.as_str()]).expect_err(&arg);
            assert!(err.to_string().contains(key), "{flag}={value}: {err}");
        }
    }

    #[test]
    fn good_values_are_taken() {
        let cli = Cli::try_parse_from([
            "x",
            "--gateway-listen",
            "0.0.0.0:9000",
            "--gateway-idempotency-ttl-secs",
            "60",
            "--gateway-max-body-bytes",
            "2048",
        ])
        .expect("valid");
        assert_eq!(cli.gateway.listen.port(), 9000);
        assert_eq!(cli.gateway.idempotency_ttl(), Duration::from_secs(60));
        assert_eq!(cli.gateway.max_body(), 2048);
    }
}
