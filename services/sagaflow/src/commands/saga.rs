//! `sagaflow saga ...`: the operator's view, through the orchestrator's API.

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
        .send()
        .await
        .with_context(|| format!("calling the orchestrator at {base}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .context("reading the orchestrator's answer")?;
    println!("{}", serde_json::to_string_pretty(&body)?);
    if !status.is_success() {
        bail!("the orchestrator answered {status}");
    }
    Ok(())
}
