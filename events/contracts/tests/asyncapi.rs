//! The AsyncAPI document (`sagaflow_events::asyncapi`) against the code:
//!
//! - `docs/asyncapi.json` is the generated document (regenerate it with
//!   `SAGAFLOW_UPDATE_ASYNCAPI=1 cargo test -p sagaflow-events --test integration
//!   asyncapi::`);
//! - its channels are exactly the topics the code uses: `topics::all()`, their
//!   dead-letter topics and `topics::DLQ_REPLAYS`, and every topic-shaped string
//!   literal in the workspace's non-test sources is one of them (so a topic named
//!   in code but never registered fails here);
//! - every catalogue message is on its topic's channel with a `send` operation,
//!   its current Avro schema, schema id and key, and every `$ref` resolves;
//! - the envelope header schema says what `Envelope::from_headers` accepts.
//!
//! That the document is valid AsyncAPI is checked by the AsyncAPI parser itself
//! (`infra/checks/asyncapi.sh`, a static check of `infra/dev/test.sh`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sagaflow_events::asyncapi::{ASYNCAPI_VERSION, AVRO_SCHEMA_FORMAT, document};
use sagaflow_events::envelope::headers::{self, Format};
use sagaflow_events::{Envelope, Error, catalog::CONTRACTS, registry, topics};
use serde_json::Value;
use uuid::Uuid;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn channels(doc: &Value) -> BTreeSet<String> {
    doc["channels"]
        .as_object()
        .expect("channels")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_committed_document_is_current() {
    let current = document();
    let path = workspace().join("docs/asyncapi.json");
    if std::env::var_os("SAGAFLOW_UPDATE_ASYNCAPI").is_some() {
        let pretty = serde_json::to_string_pretty(&current).expect("serialises");
        std::fs::write(&path, format!("{pretty}\n")).expect("writes docs/asyncapi.json");
        return;
    }
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).expect("docs/asyncapi.json is committed"),
    )
    .expect("docs/asyncapi.json parses");
    assert!(
        committed == current,
        "docs/asyncapi.json is out of date: regenerate it with SAGAFLOW_UPDATE_ASYNCAPI=1 cargo \
         test -p sagaflow-events --test integration asyncapi::"
    );
    assert_eq!(document(), current, "the document is deterministic");
}

/// Whether `s` is shaped like a topic name: `notifications`, or dot-separated
/// lowercase words ending in `commands`, `events`, `dlq` or `replays`.
fn looks_like_topic(s: &str) -> bool {
    if s.strip_suffix(".dlq").unwrap_or(s) == topics::NOTIFICATIONS {
        return true;
    }
    let words: Vec<&str> = s.split('.').collect();
    words.len() >= 2
        && words.iter().all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        })
        && ["commands", "events", "dlq", "replays"].contains(words.last().expect("two words"))
}

/// The topic-shaped string literals of a source file, up to its first
/// `#[cfg(test)]` (the unit tests at the end name made-up topics), outside
/// comment lines. Topic names hold no quotes or escapes, so splitting lines at
/// `"` finds them.
fn topic_literals(code: &str) -> Vec<String> {
    let code = code.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(|line| line.split('"').skip(1).step_by(2))
        .filter(|piece| looks_like_topic(piece))
        .map(str::to_owned)
        .collect()
}

/// Every `.rs` file under a `src/` directory of the workspace.
fn sources(dir: &Path, in_src: bool, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reads the workspace") {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                sources(&path, in_src || name == "src", out);
            }
        } else if in_src && name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Topic literal -> the first file naming it.
fn topics_named_in_code() -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    sources(&workspace(), false, &mut files);
    files.sort();
    assert!(files.len() > 100, "found only {} source files", files.len());
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("sagas/checkout/src/steps.rs")),
        "the scan does not reach the saga crates"
    );
    let mut named = Vec::new();
    for file in files {
        let code = std::fs::read_to_string(&file).expect("a source file reads");
        for topic in topic_literals(&code) {
            named.push((topic, file.clone()));
        }
    }
    named
}

#[test]
fn the_channels_are_every_topic_the_code_uses() {
    let doc = document();
    let channels = channels(&doc);
    let mut expected: BTreeSet<String> = topics::all()
        .iter()
        .flat_map(|t| [(*t).to_owned(), topics::dead_letter(t)])
        .collect();
    expected.insert(topics::DLQ_REPLAYS.to_owned());
    assert_eq!(channels, expected);
    for (name, channel) in doc["channels"].as_object().expect("channels") {
        assert_eq!(channel["address"], name.as_str());
        assert_eq!(channel["bindings"]["kafka"]["topic"], name.as_str());
    }

    let named = topics_named_in_code();
    let unknown: Vec<_> = named
        .iter()
        .filter(|(topic, _)| !channels.contains(topic))
        .collect();
    assert!(
        unknown.is_empty(),
        "topics named in code but missing from the AsyncAPI document (add them to \
         events/contracts/src/topics.rs): {unknown:?}"
    );
    // The scan sees literals: topics.rs's own constants (every other crate names
    // topics through them or a message's `Contract::TOPIC`).
    let seen: BTreeSet<&str> = named.iter().map(|(t, _)| t.as_str()).collect();
    for topic in topics::all().iter().chain([&topics::DLQ_REPLAYS]) {
        assert!(seen.contains(topic), "the scan missed {topic}");
    }
}

#[test]
fn the_scan_recognises_topic_literals_only() {
    let code = r#"
        const A: &str = "payment.events"; let b = ("cart.commands.dlq", "notifications");
        // "commented.events" is not code
        let path = "events/schemas/manifest.json"; let host = "127.0.0.1:9092";
        let s = "Payment.Events"; let t = ".events"; let u = "a b.events";
        #[cfg(test)]
        mod tests { const T: &str = "test.commands"; }
    "#;
    assert_eq!(
        topic_literals(code),
        ["payment.events", "cart.commands.dlq", "notifications"]
    );
}

#[test]
fn every_message_is_documented_on_its_topic_with_its_schema_and_key() {
    let doc = document();
    assert_eq!(doc["asyncapi"], ASYNCAPI_VERSION);
    assert_eq!(doc["servers"]["local"]["protocol"], "kafka");
    assert!(doc["servers"]["local"]["variables"]["KAFKA_BOOTSTRAP_SERVERS"]["default"].is_string());
    for (ty, topic) in CONTRACTS {
        let entry = registry::builtin().current(ty).expect("registered");
        let message = &doc["components"]["messages"][*ty];
        assert_eq!(message["name"], *ty);
        assert_eq!(message["payload"]["schemaFormat"], AVRO_SCHEMA_FORMAT);
        let schema: Value = serde_json::from_str(&entry.source).expect("the schema is JSON");
        assert_eq!(message["payload"]["schema"], schema, "{ty}");
        assert_eq!(message["x-schema-id"], entry.id, "{ty}");
        assert_eq!(message["x-schema-version"], entry.version, "{ty}");
        let description = message["description"].as_str().expect("described");
        assert!(
            description.contains(&format!("schema id {}", entry.id))
                && description.contains("magic byte"),
            "{ty}: {description}"
        );
        let kafka = &message["bindings"]["kafka"];
        assert_eq!(kafka["key"]["type"], "string", "{ty}");
        assert_eq!(kafka["schemaIdLocation"], "payload", "{ty}");
        assert_eq!(kafka["schemaIdPayloadEncoding"], "confluent", "{ty}");
        let headers = &message["headers"]["allOf"];
        assert_eq!(headers[0]["$ref"], "#/components/schemas/EnvelopeHeaders");
        assert_eq!(
            headers[1]["properties"][headers::MESSAGE_TYPE]["const"],
            *ty
        );

        assert_eq!(
            doc["channels"][*topic]["messages"][*ty]["$ref"],
            format!("#/components/messages/{ty}")
        );
        let operation = &doc["operations"][format!("send{ty}")];
        assert_eq!(operation["action"], "send", "{ty}");
        assert_eq!(operation["channel"]["$ref"], format!("#/channels/{topic}"));
        assert_eq!(
            operation["messages"][0]["$ref"],
            format!("#/channels/{topic}/messages/{ty}")
        );
        let owner = entry.file.split('/').next().expect("a folder");
        assert_eq!(operation["tags"][0]["name"], owner, "{ty}");
    }
    assert_eq!(
        doc["components"]["messages"]
            .as_object()
            .expect("messages")
            .len(),
        CONTRACTS.len() + 2,
        "the contracts, the dead letter and the replay marker"
    );
    // Saga messages are keyed by the saga id, the catalogue's by SKU.
    let key = |ty: &str| doc["components"]["messages"][ty]["bindings"]["kafka"]["key"].clone();
    assert!(
        key("InitiateCheckout")["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("the saga id"))
    );
    assert_eq!(key("InitiateCheckout")["format"], "uuid");
    assert!(
        key("ProductChanged")["description"]
            .as_str()
            .is_some_and(|d| d.contains("SKU"))
    );
}

/// Every `$ref` string in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => out.push(target.clone()),
                    _ => refs(value, out),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(targets.len() > 3 * CONTRACTS.len());
    for target in targets {
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
}

fn pairs(envelope: &Envelope) -> Vec<(&'static str, Option<Vec<u8>>)> {
    envelope
        .to_headers()
        .into_iter()
        .map(|(name, value)| (name, Some(value.into_bytes())))
        .collect()
}

fn read(pairs: &[(&'static str, Option<Vec<u8>>)]) -> Result<Envelope, Error> {
    Envelope::from_headers(pairs.iter().map(|(k, v)| (*k, v.as_deref())))
}

#[test]
fn the_header_schema_is_what_readers_accept() {
    let mut cause = Envelope::new("CreateOrder", "acme")
        .with_saga_id(Uuid::now_v7())
        .with_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    cause.tracestate = Some("vendor=abc".into());
    cause.baggage = Some("tier=gold".into());
    let full = Envelope::reply_to("OrderCreated", &cause);
    let full = pairs(&full);
    let written: Vec<&str> = full.iter().map(|(name, _)| *name).collect();
    let listed: Vec<&str> = headers::ALL.iter().map(|spec| spec.name).collect();
    assert_eq!(written, listed, "headers::ALL lists every header written");
    read(&full).expect("the full envelope reads");
    for spec in headers::ALL {
        let without: Vec<_> = full
            .iter()
            .filter(|(name, _)| *name != spec.name)
            .cloned()
            .collect();
        match read(&without) {
            Err(Error::MissingHeader(name)) => {
                assert!(spec.required, "{} is documented optional", spec.name);
                assert_eq!(name, spec.name);
            }
            Ok(_) => assert!(!spec.required, "{} is documented required", spec.name),
            Err(other) => panic!("without {}: {other}", spec.name),
        }
        if matches!(spec.format, Format::Uuid | Format::PositiveInteger) {
            let mut bad = full.clone();
            for (name, value) in &mut bad {
                if *name == spec.name {
                    *value = Some(b"zero".to_vec());
                }
            }
            assert!(
                matches!(read(&bad), Err(Error::InvalidHeader { name, .. }) if name == spec.name),
                "{} takes any text",
                spec.name
            );
        }
    }

    let schema = &document()["components"]["schemas"]["EnvelopeHeaders"];
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let expected: BTreeSet<&str> = headers::ALL
        .iter()
        .filter(|s| s.required)
        .map(|s| s.name)
        .collect();
    assert_eq!(required, expected);
    for spec in headers::ALL {
        assert_eq!(
            schema["properties"][spec.name]["type"], "string",
            "{}",
            spec.name
        );
    }
    assert_eq!(schema["properties"][headers::MESSAGE_ID]["format"], "uuid");
}
