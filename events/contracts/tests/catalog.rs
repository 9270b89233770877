//! The catalogue (Rust types), the manifest (schemas) and the topics agree.

use std::collections::{BTreeMap, BTreeSet};

use sagaflow_events::{catalog::CONTRACTS, registry, schema_version, topic_of, topics};

#[test]
fn every_manifest_entry_has_a_contract_type_and_vice_versa() {
    let contracts: BTreeMap<_, _> = CONTRACTS.iter().copied().collect();
    assert_eq!(contracts.len(), CONTRACTS.len(), "a type is listed twice");
    let registered: BTreeSet<_> = registry::builtin().message_types().collect();
    let typed: BTreeSet<_> = contracts.keys().copied().collect();
    assert_eq!(registered, typed);
    for (ty, topic) in &contracts {
        for entry in registry::builtin().versions(ty) {
            assert_eq!(
                &entry.topic, topic,
                "{ty} v{}: manifest topic",
                entry.version
            );
        }
        assert_eq!(topic_of(ty), Some(*topic));
        assert!(schema_version(ty).is_some());
    }
}

#[test]
fn every_topic_is_known() {
    for (ty, topic) in CONTRACTS {
        assert!(
            topics::all().contains(topic),
            "{ty}: {topic} not in topics::all()"
        );
    }
    for entry in registry::builtin().entries() {
        assert!(
            topics::all().contains(&entry.topic.as_str()),
            "{}",
            entry.file
        );
    }
}

#[test]
fn schema_files_follow_the_layout() {
    for entry in registry::builtin().entries() {
        let owner = entry.file.split('/').next().unwrap();
        let expected = format!("{owner}/{}.v{}.avsc", entry.message_type, entry.version);
        assert_eq!(entry.file, expected);
        let name = entry.schema.name().unwrap();
        assert_eq!(name.name, entry.message_type);
        assert_eq!(
            name.namespace.as_deref(),
            Some(format!("io.sagaflow.{owner}").as_str())
        );
        let topic_owner = entry.topic.split('.').next().unwrap();
        assert!(
            topic_owner == owner || topic_owner.trim_end_matches('s') == owner,
            "{}: topic {} is not owned by {owner}",
            entry.file,
            entry.topic
        );
    }
}

#[test]
fn schema_ids_are_unique_and_lookups_agree() {
    let mut ids = BTreeSet::new();
    for entry in registry::builtin().entries() {
        assert!(ids.insert(entry.id), "duplicate id {}", entry.id);
        let same = registry::builtin().by_id(entry.id).unwrap();
        assert_eq!(same.file, entry.file);
        let same = registry::builtin()
            .version(&entry.message_type, entry.version)
            .unwrap();
        assert_eq!(same.id, entry.id);
    }
    // InventoryReservationFailed, InitiateCheckout, PriceOrder, OrderPriced,
    // ClearCart, AddCartItem, SendNotification, SagaProgressed, GenerateDocument and
    // InitiateGeneration have two versions.
    assert_eq!(
        ids.len(),
        CONTRACTS.len() + 10,
        "ten types have two versions"
    );
}

/// Commands sent to a service outside any saga (no step, so no saga id).
const NOT_SAGA_STEPS: &[&str] = &["EraseUserData", "ProductChanged", "UserErasureRequested"];

#[test]
fn commands_carry_a_saga_id() {
    for (ty, topic) in CONTRACTS {
        if !topic.ends_with(".commands")
            || *topic == topics::ORCHESTRATOR_COMMANDS
            || NOT_SAGA_STEPS.contains(ty)
        {
            continue;
        }
        let schema = &registry::builtin().current(ty).unwrap().schema;
        let apache_avro::Schema::Record(record) = schema else {
            panic!("{ty}")
        };
        assert!(record.lookup.contains_key("saga_id"), "{ty} has no saga_id");
    }
}

#[test]
fn unknown_names_give_none() {
    assert_eq!(topic_of("Nope"), None);
    assert_eq!(schema_version("Nope"), None);
    assert!(registry::builtin().current("Nope").is_none());
    assert!(registry::builtin().by_id(1).is_none());
}
