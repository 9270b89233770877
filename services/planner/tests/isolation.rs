//! The planner calls no other service's HTTP API: it has no HTTP client of its
//! own (the outbound HTTP paths are the LLM, through `sagaflow-llm`, and the
//! bus's reads of unknown schema ids from a schema registry, through
//! `sagaflow-schema-registry`), no setting naming another service's address, and
//! no socket code. Checked on the manifest, the resolved dependency graph
//! (`Cargo.lock`) and the sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// HTTP (and raw network) client crates.
const CLIENTS: &[&str] = &[
    "reqwest",
    "ureq",
    "isahc",
    "surf",
    "awc",
    "attohttpc",
    "curl",
    "hyper-tls",
    "hyper-rustls",
    "tonic",
];

/// The crates through which an HTTP client may reach the planner, each with
/// one purpose: the LLM providers, and a schema registry's REST API.
const HTTP_GATES: &[&str] = &["sagaflow-llm", "sagaflow-schema-registry"];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The keys of one `[section]` of a TOML file (enough TOML for a manifest).
fn section_keys(toml: &str, section: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut inside = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
            continue;
        }
        if inside && let Some((key, _)) = line.split_once('=') {
            let key = key.trim();
            if !key.is_empty() && !key.starts_with('#') {
                keys.push(key.split('.').next().unwrap_or(key).to_owned());
            }
        }
    }
    keys
}

#[test]
fn the_manifest_has_no_http_client() {
    let manifest = std::fs::read_to_string(crate_dir().join("Cargo.toml")).expect("Cargo.toml");
    let deps = section_keys(&manifest, "dependencies");
    assert!(deps.contains(&"sagaflow-llm".to_owned()));
    for dep in &deps {
        assert!(
            !CLIENTS.contains(&dep.as_str()) && dep != "hyper" && dep != "hyper-util",
            "sagaflow-planner must not depend on {dep}"
        );
    }
}

/// `Cargo.lock`: package name -> names of its dependencies.
fn lock_graph() -> BTreeMap<String, BTreeSet<String>> {
    let lock = crate_dir().join("../../Cargo.lock");
    let text = std::fs::read_to_string(&lock).expect("Cargo.lock");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for block in text.split("[[package]]").skip(1) {
        let name = block
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .map(|n| n.trim_matches('"').to_owned())
            .expect("a package name");
        let deps = graph.entry(name).or_default();
        if let Some(start) = block.find("dependencies = [") {
            let list = &block[start..];
            let end = list.find(']').unwrap_or(list.len());
            for item in list[..end].lines().skip(1) {
                let item = item.trim().trim_end_matches(',').trim_matches('"');
                if let Some(dep) = item.split_whitespace().next() {
                    deps.insert(dep.to_owned());
                }
            }
        }
    }
    graph
}

#[test]
fn only_the_llm_crate_brings_an_http_client() {
    let graph = lock_graph();
    let manifest = std::fs::read_to_string(crate_dir().join("Cargo.toml")).expect("Cargo.toml");
    // Everything the planner's own dependencies pull in, except through the gates.
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = section_keys(&manifest, "dependencies")
        .into_iter()
        .filter(|d| !HTTP_GATES.contains(&d.as_str()))
        .collect();
    while let Some(name) = todo.pop() {
        if HTTP_GATES.contains(&name.as_str()) || !seen.insert(name.clone()) {
            continue;
        }
        todo.extend(graph.get(&name).into_iter().flatten().cloned());
    }
    for client in CLIENTS {
        assert!(
            !seen.contains(*client),
            "{client} reaches sagaflow-planner other than through {HTTP_GATES:?}"
        );
    }
    // And the gates are where the client is.
    for gate in HTTP_GATES {
        assert!(graph[*gate].contains("reqwest"), "{gate} brings reqwest");
    }
}

fn sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).expect("src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("source");
            out.push((path, text));
        }
    }
}

#[test]
fn the_sources_open_no_connection_and_name_no_service_address() {
    let mut files = Vec::new();
    sources(&crate_dir().join("src"), &mut files);
    assert!(files.len() > 10);
    let forbidden = [
        "reqwest",
        "hyper::client",
        "hyper_util::client",
        "TcpStream",
        "UdpSocket",
        "http://",
        "https://",
    ];
    let mut completions = Vec::new();
    for (path, text) in &files {
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for needle in forbidden {
                assert!(
                    !code.contains(needle),
                    "{}:{}: `{needle}` in `{}`",
                    path.display(),
                    number + 1,
                    code
                );
            }
            if code.contains(".complete(") || code.contains(".complete_with_key(") {
                completions.push(path.clone());
            }
        }
    }
    // The LLM is called in one place: intent parsing.
    assert_eq!(completions.len(), 1, "{completions:?}");
    assert!(completions[0].ends_with("intent/llm.rs"));
    // The only addresses in the settings are the LLM providers'.
    let config = std::fs::read_to_string(crate_dir().join("src/config.rs")).expect("config");
    let urls: BTreeSet<&str> = config
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub "))
        .filter_map(|l| l.split(':').next())
        .filter(|field| field.ends_with("_url"))
        .collect();
    assert_eq!(
        urls,
        BTreeSet::from(["anthropic_base_url", "openai_base_url"])
    );
}
