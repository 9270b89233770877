//! Schema evolution rules: each version reads every earlier one, and
//! released (non-latest) files are immutable (sha256 pinned in the manifest).

use crate::common;

use apache_avro::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;
use sagaflow_events::{Registry, registry};
use sha2::{Digest, Sha256};

/// Every (writer version, reader version) pair with writer < reader that
/// the compatibility checker rejects, as messages.
fn incompatibilities(registry: &Registry) -> Vec<String> {
    let mut problems = Vec::new();
    for ty in registry.message_types() {
        let versions = registry.versions(ty);
        for (i, reader) in versions.iter().enumerate() {
            for writer in &versions[..i] {
                if let Err(e) = SchemaCompatibility::can_read(&writer.schema, &reader.schema) {
                    problems.push(format!(
                        "{ty}: v{} cannot read v{}: {e}",
                        reader.version, writer.version
                    ));
                }
            }
        }
    }
    problems
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Released (non-latest) versions whose text does not hash to the
/// manifest's sha256.
fn modified_released(registry: &Registry) -> Vec<String> {
    let mut problems = Vec::new();
    for ty in registry.message_types() {
        let versions = registry.versions(ty);
        for released in &versions[..versions.len() - 1] {
            if sha256_hex(released.source.as_bytes()) != released.sha256 {
                problems.push(format!("{} was modified after release", released.file));
            }
        }
    }
    problems
}

fn load_from_disk_with(patch: impl Fn(&str, String) -> String) -> Registry {
    let dir = common::schemas_dir();
    Registry::load(|path| {
        std::fs::read_to_string(dir.join(path))
            .ok()
            .map(|text| patch(path, text))
    })
    .expect("registry loads")
}

#[test]
fn every_version_reads_all_earlier_versions() {
    let problems = incompatibilities(registry::builtin());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn at_least_one_type_has_evolved() {
    let evolved = registry::builtin()
        .message_types()
        .filter(|ty| registry::builtin().versions(ty).len() > 1)
        .count();
    assert!(evolved >= 1, "the compatibility test would be vacuous");
}

#[test]
fn released_schema_files_are_unchanged() {
    // Embedded copies.
    let problems = modified_released(registry::builtin());
    assert!(problems.is_empty(), "{problems:#?}");
    // And the files on disk, byte for byte.
    for entry in registry::builtin().entries() {
        let bytes = std::fs::read(common::schemas_dir().join(&entry.file)).unwrap();
        let is_current = registry::builtin().current(&entry.message_type).unwrap().id == entry.id;
        let hint = if is_current {
            "current version: update its sha256 in manifest.json"
        } else {
            "released version: never edit it, add a new version instead"
        };
        assert_eq!(sha256_hex(&bytes), entry.sha256, "{}: {hint}", entry.file);
        assert_eq!(
            bytes,
            entry.source.as_bytes(),
            "{}: embedded copy is stale",
            entry.file
        );
    }
}

#[test]
fn checker_rejects_new_required_field() {
    let current = registry::builtin()
        .current("InventoryReservationFailed")
        .unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&current.source).unwrap();
    json["fields"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "name": "warehouse", "type": "string" }));
    let broken = Schema::parse_str(&json.to_string()).unwrap();
    assert!(SchemaCompatibility::can_read(&current.schema, &broken).is_err());
    // The same change with a default is fine.
    json["fields"].as_array_mut().unwrap().last_mut().unwrap()["default"] = "main".into();
    let fixed = Schema::parse_str(&json.to_string()).unwrap();
    assert!(SchemaCompatibility::can_read(&current.schema, &fixed).is_ok());
}

#[test]
fn incompatible_version_in_the_manifest_is_reported() {
    // v2 of InventoryReservationFailed with `sku` made required: v1 data
    // (no sku) can no longer be read.
    let registry = load_from_disk_with(|path, text| {
        if path == "inventory/InventoryReservationFailed.v2.avsc" {
            let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let sku = json["fields"].as_array_mut().unwrap().last_mut().unwrap();
            assert_eq!(sku["name"], "sku");
            *sku = serde_json::json!({ "name": "sku", "type": "string" });
            json.to_string()
        } else {
            text
        }
    });
    let problems = incompatibilities(&registry);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].starts_with("InventoryReservationFailed: v2 cannot read v1"));
}

#[test]
fn editing_a_released_file_is_reported() {
    let registry = load_from_disk_with(|path, text| {
        if path == "inventory/InventoryReservationFailed.v1.avsc" {
            text.replace("\"reason\"", "\"why\"")
        } else {
            text
        }
    });
    assert_eq!(
        modified_released(&registry),
        ["inventory/InventoryReservationFailed.v1.avsc was modified after release"]
    );
}
