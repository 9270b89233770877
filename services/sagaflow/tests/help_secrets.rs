//! `--help` never prints a secret taken from the environment: the SASL password
//! inside `KAFKA_PROPERTIES`, the internal and operator token secrets, an operator
//! token.

use std::process::Command;

const SASL_PASSWORD: &str = "s3cr3t,with;comma-SASL";
const INTERNAL: &str = "internal-secret-in-env-0123456789abcdef";
const OPERATOR: &str = "operator-secret-in-env-0123456789abcdef";
const OPERATOR_TOKEN: &str = "eyJoperator-token-in-env";

fn help(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_sagaflow"))
        .args(args)
        .env(
            "KAFKA_PROPERTIES",
            format!(
                "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.password={SASL_PASSWORD}"
            ),
        )
        .env("SAGAFLOW_INTERNAL_TOKEN_SECRET", INTERNAL)
        .env("SAGAFLOW_OPERATOR_JWT_SECRET", OPERATOR)
        .env("SAGAFLOW_OPERATOR_TOKEN", OPERATOR_TOKEN)
        .output()?;
    anyhow::ensure!(output.status.success(), "{args:?} failed: {output:?}");
    Ok(String::from_utf8(output.stdout)?)
}

#[test]
fn serve_help_does_not_print_secrets_from_the_environment() -> anyhow::Result<()> {
    let text = help(&["serve", "--help"])?;
    // The keys are documented...
    for key in [
        "KAFKA_PROPERTIES",
        "SAGAFLOW_INTERNAL_TOKEN_SECRET",
        "SAGAFLOW_OPERATOR_JWT_SECRET",
    ] {
        assert!(text.contains(key), "{key} is not in --help");
    }
    // ...their values are not.
    for secret in ["s3cr3t", INTERNAL, OPERATOR] {
        assert!(!text.contains(secret), "`{secret}` printed by serve --help");
    }

    let text = help(&["saga", "--help"])?;
    assert!(text.contains("SAGAFLOW_OPERATOR_TOKEN"), "{text}");
    for secret in [OPERATOR_TOKEN, OPERATOR] {
        assert!(!text.contains(secret), "`{secret}` printed by saga --help");
    }
    Ok(())
}
