//! Writer schemas learned at run time: ids a schema registry assigned (a
//! third-party producer's serializer registered its schema there), kept for
//! the life of the process next to the built-in ids.
//!
//! [`writer`] is what decoding asks: the built-in id first, then a learned
//! one. [`learn`] admits a schema under its registry id only if it can be
//! read as one of our message types: a top-level record whose (unqualified)
//! name is a message type of the built-in registry, and which Avro schema
//! resolution can map onto that type's current schema. Anything else is
//! refused with [`Error::RejectedSchema`] saying why.
//!
//! Fetching a schema from a registry is I/O and lives in `sagaflow-bus`
//! (`schema_registry`); this module only checks and caches, so decoding
//! stays synchronous. The built-in ids win: a registry whose ids overlap
//! `events/schemas/manifest.json`'s cannot shadow them.

use std::collections::HashMap;
use std::sync::{LazyLock, PoisonError, RwLock};

use apache_avro::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;

use super::{SchemaEntry, builtin};
use crate::Error;

/// Learned entries by registry id. An entry is leaked once so that it lives as
/// long as the built-in ones (`&'static`); there is at most one per id the
/// registry has handed out, and only valid ones are kept.
static LEARNED: LazyLock<RwLock<HashMap<u32, &'static SchemaEntry>>> =
    LazyLock::new(Default::default);

/// `file` of a learned entry: it comes from a registry, not `events/schemas/`.
pub const LEARNED_FILE: &str = "<schema registry>";

/// The writer schema of `id`: a built-in one, else one [`learn`]ed.
pub fn writer(id: u32) -> Option<&'static SchemaEntry> {
    builtin().by_id(id).or_else(|| {
        LEARNED
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .copied()
    })
}

/// Whether decoding knows `id` (built in or learned).
pub fn knows(id: u32) -> bool {
    writer(id).is_some()
}

/// Checks `source` (an Avro schema's JSON, as a registry returns it for `id`)
/// and, if it can be read as one of our message types, keeps it under `id`.
/// The entry has `version` 0 (it is none of our versions), `file`
/// [`LEARNED_FILE`] and no `sha256`. Learning an id again returns the entry
/// already kept (a built-in id returns the built-in entry).
pub fn learn(id: u32, source: &str) -> Result<&'static SchemaEntry, Error> {
    if let Some(known) = writer(id) {
        return Ok(known);
    }
    let entry = check(id, source)?;
    let mut learned = LEARNED.write().unwrap_or_else(PoisonError::into_inner);
    Ok(*learned
        .entry(id)
        .or_insert_with(|| Box::leak(Box::new(entry))))
}

fn check(id: u32, source: &str) -> Result<SchemaEntry, Error> {
    let refuse = |reason: String| Error::RejectedSchema { id, reason };
    let schema = Schema::parse_str(source)
        .map_err(|e| refuse(format!("it is not a valid Avro schema: {e}")))?;
    if !matches!(schema, Schema::Record(_)) {
        return Err(refuse("its top-level type is not a record".into()));
    }
    let name = schema
        .name()
        .ok_or_else(|| refuse("its record has no name".into()))?
        .name
        .clone();
    let current = builtin()
        .current(&name)
        .ok_or_else(|| refuse(format!("record `{name}` is not a Sagaflow message type")))?;
    SchemaCompatibility::can_read(&schema, &current.schema).map_err(|e| {
        refuse(format!(
            "`{name}` v{} cannot read data written with it: {e}",
            current.version
        ))
    })?;
    Ok(SchemaEntry {
        message_type: name,
        topic: current.topic.clone(),
        version: 0,
        id,
        file: LEARNED_FILE.to_owned(),
        sha256: String::new(),
        source: source.to_owned(),
        schema,
    })
}
