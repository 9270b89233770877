//! `sagaflow token --operator-api` prints a token the operator APIs accept;
//! `--role operator` a gateway token with the role; `sagaflow saga` without any
//! operator credential refuses to call the API, naming the keys to set.

use std::process::Command;

use sagaflow_test_support::service_auth::{OPERATOR_JWT_SECRET, operator_verifier};

fn sagaflow(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<std::process::Output> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sagaflow"));
    command
        .args(args)
        .env_remove("SAGAFLOW_OPERATOR_JWT_SECRET")
        .env_remove("SAGAFLOW_OPERATOR_TOKEN")
        .env_remove("GATEWAY_JWT_HS256_SECRET");
    for (key, value) in env {
        command.env(key, value);
    }
    Ok(command.output()?)
}

#[test]
fn operator_tokens_are_minted_and_required() -> anyhow::Result<()> {
    let out = sagaflow(
        &[
            "token",
            "--operator-api",
            "--tenant",
            "acme",
            "--user",
            "ops",
        ],
        &[("SAGAFLOW_OPERATOR_JWT_SECRET", OPERATOR_JWT_SECRET)],
    )?;
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout)?;
    let operator = operator_verifier()
        .verify(token.trim())
        .map_err(|r| anyhow::anyhow!("{r}"))?;
    assert_eq!(operator.subject, "ops");
    assert_eq!(operator.tenant_id.as_deref(), Some("acme"));

    // Without the secret: refused, naming it.
    let out = sagaflow(
        &["token", "--operator-api", "--tenant", "*", "--user", "ops"],
        &[],
    )?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SAGAFLOW_OPERATOR_JWT_SECRET"));

    // `sagaflow saga` without a token or secret does not call the API.
    let out = sagaflow(&["saga", "list", "--api", "http://127.0.0.1:9"], &[])?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SAGAFLOW_OPERATOR_TOKEN"), "{err}");
    assert!(!err.contains("calling the orchestrator"), "{err}");
    Ok(())
}
