//! `sagaflow token --tenant T --user U [--ttl-secs N]`: prints a development
//! bearer token for the gateway (HS256, signed with `GATEWAY_JWT_HS256_SECRET`,
//! which `infra/dev/env.sh` exports), e.g.
//!
//! ```sh
//! curl -H "Authorization: Bearer $(sagaflow token --tenant demo --user ada)" \
//!      http://127.0.0.1:8080/v1/history
//! ```
//!
//! `--role operator` adds a `roles` claim (an operator reads every saga log of its
//! tenant through the gateway). `--operator-api` prints instead a token for the
//! orchestrator's operator API and `sagaflow saga` (HS256 with
//! `SAGAFLOW_OPERATOR_JWT_SECRET`, `roles: ["operator"]`, `sub` = `--user`, and
//! `tenant_id` = `--tenant` unless that is `*`, which means every tenant).
//!
//! [`Signing`] is shared with `sagaflow demo`, which signs its requests the same way;
//! [`OperatorSigning`] with `sagaflow saga`.

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
    pub secret: Option<String>,
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
        self.mint_with_roles(tenant, user, &[], ttl)
    }

    /// A token for `user` of `tenant` with `roles`, valid for `ttl`.
    pub fn mint_with_roles(
        &self,
        tenant: &str,
        user: &str,
        roles: &[&str],
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let secret = self.secret.as_deref().unwrap_or_default();
        ensure!(
            secret.len() >= MIN_HS256_SECRET_BYTES,
            "GATEWAY_JWT_HS256_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes \
             (source infra/dev/env.sh for the development one)"
        );
        for (name, value) in [("--tenant", tenant), ("--user", user)] {
            ensure!(
                (1..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic()),
                "{name} must be 1 to 128 visible ASCII characters"
            );
        }
        Ok(sagaflow_gateway::auth::mint_hs256_with_roles(
            secret,
            &self.issuer,
            &self.audience,
            tenant,
            user,
            roles,
            ttl,
        ))
    }
}

/// How operator tokens are signed: `SAGAFLOW_OPERATOR_JWT_SECRET`.
#[derive(clap::Args, Debug, Clone)]
pub struct OperatorSigning {
    /// The operator token secret (>= 32 bytes).
    #[arg(
        id = "operator-jwt-secret",
        long = "operator-jwt-secret",
        env = "SAGAFLOW_OPERATOR_JWT_SECRET",
        value_name = "SAGAFLOW_OPERATOR_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub secret: Option<String>,
}

impl OperatorSigning {
    /// An operator token for `subject`, limited to `tenant` if given, valid for `ttl`.
    pub fn mint(
        &self,
        subject: &str,
        tenant: Option<&str>,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let secret = sagaflow_service_auth::Secret::new(self.secret.clone().unwrap_or_default());
        let present = self.secret.as_ref().map(|_| &secret);
        let secret =
            sagaflow_service_auth::Secret::require("SAGAFLOW_OPERATOR_JWT_SECRET", present)?;
        Ok(sagaflow_service_auth::operator::mint(
            secret.expose(),
            subject,
            tenant,
            &[sagaflow_service_auth::OPERATOR_ROLE],
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
    /// A role for the `roles` claim (repeatable), e.g. `operator`.
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
    /// Print an operator API token (signed with `SAGAFLOW_OPERATOR_JWT_SECRET`)
    /// instead of a gateway token; `--tenant '*'` leaves it unlimited.
    #[arg(long = "operator-api")]
    pub operator_api: bool,
    #[command(flatten)]
    pub signing: Signing,
    #[command(flatten)]
    pub operator: OperatorSigning,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let ttl = Duration::from_secs(args.ttl_secs);
    let token = if args.operator_api {
        let tenant = (args.tenant != "*").then_some(args.tenant.as_str());
        args.operator.mint(&args.user, tenant, ttl)?
    } else {
        let roles: Vec<&str> = args.roles.iter().map(String::as_str).collect();
        args.signing
            .mint_with_roles(&args.tenant, &args.user, &roles, ttl)?
    };
    println!("{token}");
    Ok(())
}
