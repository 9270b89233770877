//! `sagaflow schemas register|check --registry-url URL`: the platform's Avro schemas
//! (events/schemas, every version of every message type) in a Confluent-compatible
//! schema registry, under record-name-per-topic subjects.
//!
//! - `register` registers each version in order (so the registry's history matches
//!   ours) and prints the registry's id beside ours.
//! - `check` tests each message type's current schema against what the registry
//!   holds (the subject's compatibility level, BACKWARD by default) and exits
//!   non-zero naming every incompatible one; a subject not registered yet passes.

use anyhow::bail;
use sagaflow_events::registry;

use super::Output;
use crate::schema_registry::{Client, subject};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
    /// The registry's base URL (Confluent, Karapace, Apicurio's ccompat, Redpanda).
    #[arg(
        long,
        env = "SCHEMA_REGISTRY_URL",
        value_name = "SCHEMA_REGISTRY_URL",
        global = true
    )]
    pub registry_url: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Register every version of every schema.
    Register,
    /// Check the current schemas for compatibility with the registry's.
    Check,
}

/// (subject, our version, our id, full schema text) of every schema, oldest
/// version first within a type.
fn schemas(current_only: bool) -> Vec<(String, u32, u32, String)> {
    let registry = registry::builtin();
    let mut out = Vec::new();
    let mut types: Vec<&str> = registry.message_types().collect();
    types.sort_unstable();
    for message_type in types {
        let versions = registry.versions(message_type);
        let chosen = if current_only {
            &versions[versions.len().saturating_sub(1)..]
        } else {
            &versions[..]
        };
        for entry in chosen {
            let full_name = entry
                .schema
                .name()
                .map(|n| n.fullname(None))
                .unwrap_or_else(|| entry.message_type.clone());
            out.push((
                subject(&entry.topic, &full_name),
                entry.version,
                entry.id,
                // The full text: the canonical form drops defaults, which
                // compatibility depends on.
                entry.source.clone(),
            ));
        }
    }
    out
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let Some(url) = args.registry_url.as_deref() else {
        bail!("set --registry-url or SCHEMA_REGISTRY_URL");
    };
    let client = Client::new(url)?;
    match args.command {
        Sub::Register => {
            for (subject, version, ours, schema) in schemas(false) {
                let theirs = client.register(&subject, &schema).await?;
                match args.output {
                    Output::Json => println!(
                        "{}",
                        serde_json::json!({"subject": subject, "version": version,
                                           "id": ours, "registry_id": theirs})
                    ),
                    Output::Table => {
                        println!("{subject} v{version}: id {ours}, registry id {theirs}");
                    }
                }
            }
        }
        Sub::Check => {
            let mut incompatible = Vec::new();
            for (subject, version, _, schema) in schemas(true) {
                let ok = client.compatible(&subject, &schema).await?;
                match args.output {
                    Output::Json => println!(
                        "{}",
                        serde_json::json!({"subject": subject, "version": version, "compatible": ok})
                    ),
                    Output::Table => println!(
                        "{subject} v{version}: {}",
                        if ok { "compatible" } else { "INCOMPATIBLE" }
                    ),
                }
                if !ok {
                    incompatible.push(subject);
                }
            }
            if !incompatible.is_empty() {
                bail!(
                    "{} schema(s) incompatible with the registry: {}",
                    incompatible.len(),
                    incompatible.join(", ")
                );
            }
        }
    }
    Ok(())
}
