//! `sagaflow token --tenant T --user U [--ttl-secs N]`: prints a development
//! bearer token for the gateway (HS256, signed with `GATEWAY_JWT_HS256_SECRET`,
//! which `infra/dev/env.sh` exports), e.g.
//!
//! ```sh
//! curl -H "Authorization: Bearer $(sagaflow token --tenant demo --user ada)" \
//!      http://127.0.0.1:8080/v1/history
//! ```
//!
//! [`Signing`] is shared with `sagaflow demo`, which signs its requests the same way.

use std::time::Duration;

use anyhow::ensure;
use sagaflow_gateway::config::{DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, MIN_HS256_SECRET_BYTES};

/// How tokens are signed: the gateway's HS256 secret, issuer and audience.
#[derive(clap::Args, Debug, Clone)]
pub struct Signing {
    /// The gateway's HS256 secret.
    #[arg(
        long = "jwt-secret",
        env = "GATEWAY_JWT_HS256_SECRET",
        value_name = "GATEWAY_JWT_HS256_SECRET",
        hide_env_values = true
    )]
    pub secret: String,
    /// The `iss` claim the gateway expects.
    #[arg(
        long = "jwt-issuer",
        env = "GATEWAY_JWT_ISSUER",
        value_name = "GATEWAY_JWT_ISSUER",
        default_value = DEFAULT_JWT_ISSUER
    )]
    pub issuer: String,
    /// The `aud` claim the gateway expects.
    #[arg(
        long = "jwt-audience",
        env = "GATEWAY_JWT_AUDIENCE",
        value_name = "GATEWAY_JWT_AUDIENCE",
        default_value = DEFAULT_JWT_AUDIENCE
    )]
    pub audience: String,
}

impl Signing {
    /// A token for `user` of `tenant`, valid for `ttl`.
    pub fn mint(&self, tenant: &str, user: &str, ttl: Duration) -> anyhow::Result<String> {
        ensure!(
            self.secret.len() >= MIN_HS256_SECRET_BYTES,
            "GATEWAY_JWT_HS256_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes \
             (source infra/dev/env.sh for the development one)"
        );
        for (name, value) in [("--tenant", tenant), ("--user", user)] {
            ensure!(
                (1..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic()),
                "{name} must be 1 to 128 visible ASCII characters"
            );
        }
        Ok(sagaflow_gateway::mint_hs256(
            &self.secret,
            &self.issuer,
            &self.audience,
            tenant,
            user,
            ttl,
        ))
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The tenant (`tenant_id` claim).
    #[arg(long)]
    pub tenant: String,
    /// The user (`sub` claim).
    #[arg(long)]
    pub user: String,
    /// How long the token is valid.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub ttl_secs: u64,
    #[command(flatten)]
    pub signing: Signing,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let token = args
        .signing
        .mint(&args.tenant, &args.user, Duration::from_secs(args.ttl_secs))?;
    println!("{token}");
    Ok(())
}
