//! Settings: key handling, secrets file, refusal of bad values.

use clap::Parser;
use sagaflow_llm::{Chain, Error, Secret, Settings};

use crate::common::*;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    llm: Settings,
}

#[test]
fn default_is_offline_only() {
    let chain = Chain::from_settings(&Settings::default()).expect("chain");
    assert_eq!(chain.providers(), vec!["offline"]);
    assert_eq!(Chain::offline().providers(), vec!["offline"]);
    assert_eq!(chain.health()[0].breaker, "closed");
}

#[test]
fn missing_keys_drop_providers_offline_remains() {
    let settings = Settings {
        providers: "openai,anthropic,offline".into(),
        openai_api_key: None,
        anthropic_api_key: Some(Secret::new("")),
        ..Settings::default()
    };
    let chain = Chain::from_settings(&settings).expect("chain");
    assert_eq!(chain.providers(), vec!["offline"]);

    let settings = Settings {
        providers: "offline,anthropic".into(),
        anthropic_api_key: Some(Secret::new(ANTHROPIC_KEY)),
        ..Settings::default()
    };
    let chain = Chain::from_settings(&settings).expect("chain");
    assert_eq!(chain.providers(), vec!["anthropic", "offline"]);
}

#[tokio::test]
async fn secrets_file_supplies_keys() {
    let fake = fake("/chat/completions", |_| async {
        respond(200, &[], OPENAI_OK)
    })
    .await;
    let path =
        std::env::temp_dir().join(format!("sagaflow-llm-secrets-{}.env", std::process::id()));
    std::fs::write(
        &path,
        format!("# keys\n\nOPENAI_API_KEY={OPENAI_KEY}\nexport ANTHROPIC_API_KEY=\"{ANTHROPIC_KEY}\"\nOTHER=x\n"),
    )
    .expect("write secrets file");
    let settings = Settings {
        providers: "anthropic,openai".into(),
        openai_base_url: fake.base.clone(),
        secrets_file: Some(path.clone()),
        ..Settings::default()
    };
    let chain = Chain::from_settings(&settings);
    std::fs::remove_file(&path).expect("remove secrets file");
    let chain = chain.expect("chain");
    assert_eq!(chain.providers(), vec!["anthropic", "openai", "offline"]);

    // The OpenAI key from the file is the one sent (anthropic is unreachable -> falls to openai).
    let settings = Settings {
        providers: "openai".into(),
        ..settings
    };
    std::fs::write(&path, format!("OPENAI_API_KEY={OPENAI_KEY}\n")).expect("write");
    let chain = Chain::from_settings(&settings);
    std::fs::remove_file(&path).expect("remove secrets file");
    let c = chain
        .expect("chain")
        .complete(&request())
        .await
        .expect("completion");
    assert_eq!(c.provider, "openai");
    assert_eq!(
        fake.seen()[0].0.get("authorization").expect("auth"),
        &format!("Bearer {OPENAI_KEY}")
    );
}

#[test]
fn unreadable_secrets_file_is_refused() {
    let settings = Settings {
        secrets_file: Some("/nonexistent/sagaflow/llm.env".into()),
        ..Settings::default()
    };
    match Chain::from_settings(&settings) {
        Err(Error::Config { key, .. }) => assert_eq!(key, "LLM_SECRETS_FILE"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn bad_values_are_refused_naming_the_key() {
    let error = Cli::try_parse_from(["x", "--llm-timeout-ms", "soon"]).expect_err("refused");
    assert!(error.to_string().contains("LLM_TIMEOUT_MS"), "{error}");
    let error = Cli::try_parse_from(["x", "--llm-timeout-ms", "0"]).expect_err("refused");
    assert!(error.to_string().contains("LLM_TIMEOUT_MS"), "{error}");
    let error =
        Cli::try_parse_from(["x", "--llm-providers", "openai,gemini"]).expect_err("refused");
    assert!(error.to_string().contains("LLM_PROVIDERS"), "{error}");
    let error =
        Cli::try_parse_from(["x", "--openai-base-url", "api.openai.com"]).expect_err("refused");
    assert!(error.to_string().contains("OPENAI_BASE_URL"), "{error}");

    let settings = Settings {
        timeout_ms: 0,
        ..Settings::default()
    };
    let error = Chain::from_settings(&settings).expect_err("refused");
    assert!(matches!(
        error,
        Error::Config {
            key: "LLM_TIMEOUT_MS",
            ..
        }
    ));
    assert!(error.to_string().contains("LLM_TIMEOUT_MS"));
    let settings = Settings {
        providers: "openai,bard".into(),
        ..Settings::default()
    };
    let error = Chain::from_settings(&settings).expect_err("refused");
    assert!(matches!(
        error,
        Error::Config {
            key: "LLM_PROVIDERS",
            ..
        }
    ));
}

#[test]
fn flags_parse_and_keys_never_print() {
    let cli = Cli::try_parse_from([
        "x",
        "--llm-providers",
        "anthropic,openai",
        "--openai-api-key",
        OPENAI_KEY,
        "--anthropic-api-key",
        ANTHROPIC_KEY,
        "--llm-timeout-ms",
        "1500",
        "--llm-breaker-cooldown-ms",
        "200",
    ])
    .expect("parse");
    assert_eq!(cli.llm.timeout_ms, 1500);
    assert_eq!(cli.llm.breaker_cooldown_ms, 200);
    assert_eq!(
        cli.llm.openai_api_key.as_ref().map(Secret::expose),
        Some(OPENAI_KEY)
    );
    let debug = format!("{:?}", cli.llm);
    assert!(
        !debug.contains(OPENAI_KEY) && !debug.contains(ANTHROPIC_KEY),
        "{debug}"
    );
    let chain = Chain::from_settings(&cli.llm).expect("chain");
    assert_eq!(chain.providers(), vec!["anthropic", "openai", "offline"]);
    let debug = format!("{chain:?}");
    assert!(!debug.contains(OPENAI_KEY) && !debug.contains(ANTHROPIC_KEY));
}
