//! `sagaflow saga ...`: the operator's view, through the orchestrator's API.
//!
//! The API needs an operator token: `SAGAFLOW_OPERATOR_TOKEN` (e.g. from
//! `sagaflow token --operator-api --tenant '*' --user ops`) or, when that is not
//! set, one minted for five minutes from `SAGAFLOW_OPERATOR_JWT_SECRET`.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    /// The orchestrator's operator API.
    #[arg(
        long = "api",
        env = "SAGAFLOW_ORCHESTRATOR_API",
        value_name = "SAGAFLOW_ORCHESTRATOR_API",
        default_value = "http://127.0.0.1:8081",
        global = true
    )]
    pub api: String,
    /// An operator token for the API (else one is minted from
    /// `SAGAFLOW_OPERATOR_JWT_SECRET`).
    #[arg(
        long = "operator-token",
        env = "SAGAFLOW_OPERATOR_TOKEN",
        value_name = "SAGAFLOW_OPERATOR_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,
    #[command(flatten)]
    pub signing: super::token::OperatorSigning,
}

/// The operator token to send: `--operator-token`, else a short-lived one.
fn bearer(args: &Args) -> anyhow::Result<String> {
    match &args.token {
        Some(token) if !token.trim().is_empty() => Ok(token.trim().to_owned()),
        _ => args
            .signing
            .mint("sagaflow-cli", None, Duration::from_secs(300))
            .context(
                "the operator API needs a token: set SAGAFLOW_OPERATOR_TOKEN or \
                 SAGAFLOW_OPERATOR_JWT_SECRET",
            ),
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// List sagas, oldest update first (stuck ones: `--status running --idle-secs 60`).
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        idle_secs: Option<i64>,
        #[arg(long)]
        definition: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// A saga's log with its state after each entry.
    Show { id: Uuid },
    /// In-flight sagas per definition version.
    Versions,
    /// Stop sending new commands (replies are still recorded).
    Pause {
        id: Uuid,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Continue a paused saga.
    Resume { id: Uuid },
    /// Re-send the stuck command of a failed or compensation_failed saga.
    Retry { id: Uuid },
    /// Compensate the completed steps and stop.
    Abort {
        id: Uuid,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let token = bearer(&args)?;
    let base = args.api.trim_end_matches('/');
    let request = match args.action {
        Action::List {
            status,
            idle_secs,
            definition,
            limit,
        } => {
            let mut query: Vec<(&str, String)> = vec![("limit", limit.to_string())];
            if let Some(s) = status {
                query.push(("status", s));
            }
            if let Some(i) = idle_secs {
                query.push(("idle_secs", i.to_string()));
            }
            if let Some(d) = definition {
                query.push(("definition", d));
            }
            client.get(format!("{base}/sagas")).query(&query)
        }
        Action::Show { id } => client.get(format!("{base}/sagas/{id}")),
        Action::Versions => client.get(format!("{base}/sagas/versions")),
        Action::Pause { id, reason } => client
            .post(format!("{base}/sagas/{id}/pause"))
            .json(&json!({"reason": reason})),
        Action::Resume { id } => client.post(format!("{base}/sagas/{id}/resume")),
        Action::Retry { id } => client.post(format!("{base}/sagas/{id}/retry")),
        Action::Abort { id, reason } => client
            .post(format!("{base}/sagas/{id}/abort"))
            .json(&json!({"reason": reason})),
    };
    let response = request
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("calling the orchestrator at {base}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .context("reading the orchestrator's answer")?;
    if !status.is_success() {
        bail!(
            "the orchestrator answered {status}: {}",
            super::problem_text(&body)
        );
    }
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(())
}
