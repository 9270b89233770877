//! The schema registry: every version of every message schema, by global
//! schema id and by (message type, version).
//!
//! The built-in registry ([`builtin`]) is built from `events/schemas/`
//! (`manifest.json` plus the `.avsc` files it names), embedded at compile
//! time by `build.rs` and parsed once. Ids a schema registry assigned are
//! [`learned`] at run time; [`writer`] looks an id up in both.

pub mod learned;
mod manifest;

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use apache_avro::Schema;

use crate::Error;
pub use learned::{knows, learn, writer};
pub use manifest::{Manifest, ManifestMessage, ManifestVersion};

include!(concat!(env!("OUT_DIR"), "/embedded_schemas.rs"));

/// Path of the manifest, relative to `events/schemas/`.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Namespace prefix of every schema: `io.sagaflow.<owner>`.
pub const NAMESPACE_PREFIX: &str = "io.sagaflow.";

/// One version of one message schema.
#[derive(Debug, Clone)]
pub struct SchemaEntry {
    /// Message type, equal to the Avro record name.
    pub message_type: String,
    /// Topic the message is published on.
    pub topic: String,
    /// Version, counting from 1; the highest is current.
    pub version: u32,
    /// Global schema id written into the wire frame.
    pub id: u32,
    /// File path relative to `events/schemas/`.
    pub file: String,
    /// sha256 of the file's bytes, as recorded in the manifest (hex).
    pub sha256: String,
    /// The file's text.
    pub source: String,
    /// The parsed schema.
    pub schema: Schema,
}

/// All known schemas.
#[derive(Debug, Default)]
pub struct Registry {
    by_id: HashMap<u32, SchemaEntry>,
    /// Message type -> version -> schema id.
    by_type: BTreeMap<String, BTreeMap<u32, u32>>,
}

/// The registry built from the embedded `events/schemas/`. Panics on first
/// use if the embedded manifest is inconsistent (the crate's tests prove
/// it is not).
pub fn builtin() -> &'static Registry {
    static BUILTIN: LazyLock<Registry> = LazyLock::new(|| {
        Registry::load(|path| {
            EMBEDDED
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, text)| (*text).to_owned())
        })
        .unwrap_or_else(|e| panic!("embedded schema registry is invalid: {e}"))
    });
    &BUILTIN
}

impl Registry {
    /// Builds a registry from `manifest.json` and the files it names;
    /// `read` returns a file's text given its path relative to the schemas
    /// directory. Checks ids are unique, versions run 1..=N, and each
    /// schema is a record named after its message type in `io.sagaflow.*`.
    pub fn load(read: impl Fn(&str) -> Option<String>) -> Result<Registry, Error> {
        let text = read(MANIFEST_FILE)
            .ok_or_else(|| Error::Registry(format!("{MANIFEST_FILE} not found")))?;
        let manifest: Manifest = serde_json::from_str(&text)?;
        let mut registry = Registry::default();
        for message in manifest.messages {
            registry.add_message(message, &read)?;
        }
        Ok(registry)
    }

    fn add_message(
        &mut self,
        message: ManifestMessage,
        read: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), Error> {
        let bad = |what: String| Error::Registry(format!("{}: {what}", message.message_type));
        if self.by_type.contains_key(&message.message_type) {
            return Err(bad("listed twice in the manifest".into()));
        }
        if message.versions.is_empty() {
            return Err(bad("has no versions".into()));
        }
        let mut versions = BTreeMap::new();
        for (index, v) in message.versions.into_iter().enumerate() {
            if v.version as usize != index + 1 {
                return Err(bad(format!(
                    "versions must run 1, 2, ..; found {}",
                    v.version
                )));
            }
            if self.by_id.contains_key(&v.id) {
                return Err(bad(format!("schema id {} is already used", v.id)));
            }
            let source = read(&v.file).ok_or_else(|| bad(format!("file {} not found", v.file)))?;
            let schema = Schema::parse_str(&source)
                .map_err(|e| bad(format!("{} does not parse: {e}", v.file)))?;
            check_name(&schema, &message.message_type)
                .map_err(|e| bad(format!("{}: {e}", v.file)))?;
            versions.insert(v.version, v.id);
            self.by_id.insert(
                v.id,
                SchemaEntry {
                    message_type: message.message_type.clone(),
                    topic: message.topic.clone(),
                    version: v.version,
                    id: v.id,
                    file: v.file,
                    sha256: v.sha256,
                    source,
                    schema,
                },
            );
        }
        self.by_type.insert(message.message_type, versions);
        Ok(())
    }

    /// The current (latest) schema of `message_type`.
    pub fn current(&self, message_type: &str) -> Option<&SchemaEntry> {
        let (_, id) = self.by_type.get(message_type)?.last_key_value()?;
        self.by_id.get(id)
    }

    /// The schema with global id `id`.
    pub fn by_id(&self, id: u32) -> Option<&SchemaEntry> {
        self.by_id.get(&id)
    }

    /// A specific version of `message_type`.
    pub fn version(&self, message_type: &str, version: u32) -> Option<&SchemaEntry> {
        let id = self.by_type.get(message_type)?.get(&version)?;
        self.by_id.get(id)
    }

    /// Every version of `message_type`, oldest first (empty if unknown).
    pub fn versions(&self, message_type: &str) -> Vec<&SchemaEntry> {
        self.by_type
            .get(message_type)
            .map(|vs| vs.values().filter_map(|id| self.by_id.get(id)).collect())
            .unwrap_or_default()
    }

    /// Every message type, sorted.
    pub fn message_types(&self) -> impl Iterator<Item = &str> {
        self.by_type.keys().map(String::as_str)
    }

    /// Every schema entry, sorted by id.
    pub fn entries(&self) -> Vec<&SchemaEntry> {
        let mut all: Vec<_> = self.by_id.values().collect();
        all.sort_by_key(|e| e.id);
        all
    }
}

fn check_name(schema: &Schema, message_type: &str) -> Result<(), String> {
    if !matches!(schema, Schema::Record(_)) {
        return Err("top-level schema must be a record".into());
    }
    let name = schema.name().ok_or("record has no name")?;
    if name.name != message_type {
        return Err(format!("record is named `{}`", name.name));
    }
    match &name.namespace {
        Some(ns) if ns.starts_with(NAMESPACE_PREFIX) => Ok(()),
        other => Err(format!(
            "namespace {other:?} is not under {NAMESPACE_PREFIX}"
        )),
    }
}
