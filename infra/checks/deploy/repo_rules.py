"""Checks that the deployment files agree with the code and with each other:

  services    the services of `sagaflow serve` (services/sagaflow/src/platform.rs) are
              exactly the chart's `services`, docker-compose's served services and the
              databases of infra/docker/create-databases.sql
  env-values  a value the code constrains (`value_parser = [..]`, an integer range) is
              one it accepts (e.g. OTEL_EXPORTER_OTLP_PROTOCOL, LOG_FORMAT, pool sizes)
  env-keys    every environment variable the chart (rendered) or docker-compose gives a
              sagaflow container is read by the code (a clap `env = "..."` key), or is a
              library's (RUST_LOG, PGPASSWORD, ...) or kubelet-only key with a reason
  dockerfile  multi-stage, non-root numeric USER, HEALTHCHECK, no :latest base, the
              build stage's RUST_VERSION equals rust-toolchain.toml, .dockerignore keeps
              target/ .git/ .tools/ out of the context
  compose     services start with --no-setup after `setup` (topics + migrations), export
              traces to the collector, and every mounted file exists

Usage: python repo_rules.py <repo root> <rendered manifests dir>.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

# Keys the code does not read through clap, and why they are set anyway.
LIBRARY_KEYS = {
    "RUST_LOG": "tracing-subscriber's EnvFilter (telemetry.rs)",
    "PGPASSWORD": "sqlx PgConnectOptions reads it when the URL has no password",
    "PGSSLROOTCERT": "sqlx PgConnectOptions: CA for sslmode verify-ca/verify-full",
    "KAFKA_SASL_USERNAME": "kubelet expands it into KAFKA_PROPERTIES ($(VAR))",
    "KAFKA_SASL_PASSWORD": "kubelet expands it into KAFKA_PROPERTIES ($(VAR))",
}
# Keys set ahead of the code that reads them: a warning until it does.
PENDING_KEYS = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "OpenTelemetry trace export",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "OpenTelemetry trace export",
    "OTEL_SERVICE_NAME": "OpenTelemetry resource name",
    "GATEWAY_JWT_HS256_SECRET": "gateway JWT authentication",
    "GATEWAY_JWT_RS256_PUBLIC_KEY_FILE": "gateway JWT authentication",
}

failures: list[str] = []
warnings: list[str] = []


def fail(rule: str, message: str) -> None:
    failures.append(f"{rule}: {message}")
    print(f"  FAIL [{rule}] {message}")


def warn(rule: str, message: str) -> None:
    warnings.append(f"{rule}: {message}")
    print(f"  warn [{rule}] {message}")


def code_services(root: Path) -> list[str]:
    source = (root / "services" / "sagaflow" / "src" / "platform.rs").read_text()
    body = re.search(r"pub enum Service \{(.*?)\}", source, re.S)
    if not body:
        fail("services", "cannot find `pub enum Service` in platform.rs")
        return []
    variants = re.findall(r"^\s*([A-Z][A-Za-z]*),", body.group(1), re.M)
    return sorted(v.lower() for v in variants)


def arg_attributes(source: str) -> list[str]:
    """The bodies of every `#[arg(...)]` attribute (parentheses balanced)."""
    bodies = []
    for match in re.finditer(r"#\[arg\(", source):
        depth, index = 1, match.end()
        while index < len(source) and depth:
            depth += {"(": 1, ")": -1}.get(source[index], 0)
            index += 1
        bodies.append(source[match.end() : index - 1])
    return bodies


def code_env_keys(root: Path) -> dict[str, dict[str, Any]]:
    """Every clap `env = "KEY"` of the code, with what its value parser accepts when
    that is a literal list (`value_parser = ["a", "b"]`) or an integer range."""
    keys: dict[str, dict[str, Any]] = {}
    for top in ("services", "crates", "events", "sagas"):
        for path in (root / top).rglob("*.rs"):
            if "target" in path.parts:
                continue
            source = path.read_text()
            for key in re.findall(r'env\s*=\s*"([A-Z][A-Z0-9_]*)"', source):
                keys.setdefault(key, {})
            for body in arg_attributes(source):
                env = re.search(r'env\s*=\s*"([A-Z][A-Z0-9_]*)"', body)
                if not env:
                    continue
                rule: dict[str, Any] = {}
                choices = re.search(r"value_parser\s*=\s*\[([^\]]*)\]", body)
                if choices:
                    rule["choices"] = re.findall(r'"([^"]*)"', choices.group(1))
                bounds = re.search(r"value_parser!\(\w+\)\.range\((-?[\d_]+)\.\.=?(-?[\d_]+)\)", body)
                if bounds:
                    rule["range"] = (int(bounds.group(1).replace("_", "")), int(bounds.group(2).replace("_", "")))
                keys[env.group(1)] = rule
    return keys


def check_value(key: str, value: Any, rule: dict[str, Any], where: str) -> None:
    text = str(value)
    if "$(" in text or "${" in text:
        return
    if "choices" in rule and text not in rule["choices"]:
        fail("env-values", f"{where}: {key}={text!r} is not one of {rule['choices']}")
    if "range" in rule:
        low, high = rule["range"]
        try:
            number = int(text)
        except ValueError:
            fail("env-values", f"{where}: {key}={text!r} is not a number")
            return
        if not low <= number <= high:
            fail("env-values", f"{where}: {key}={number} is outside {low}..={high}")


def compose_sagaflow_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: conf
        for name, conf in compose.get("services", {}).items()
        if str(conf.get("image", "")).startswith("sagaflow")
    }


def check_services(root: Path, chart_values: dict[str, Any], compose: dict[str, Any]) -> None:
    expected = code_services(root)
    print(f"  services in the code: {', '.join(expected)}")
    chart = sorted(chart_values.get("services", {}))
    if chart != expected:
        fail("services", f"helm/sagaflow/values.yaml services {chart} != the code's {expected}")
    served = sorted(
        conf["command"][1]
        for conf in compose_sagaflow_services(compose).values()
        if isinstance(conf.get("command"), list) and conf["command"][:1] == ["serve"]
    )
    if served != expected:
        fail("services", f"docker-compose serves {served}, the code has {expected}")
    sql = (root / "infra" / "docker" / "create-databases.sql").read_text()
    databases = sorted(d.removeprefix("sagaflow_") for d in re.findall(r"CREATE DATABASE (\w+);", sql))
    if databases != expected:
        fail("services", f"create-databases.sql creates {databases}, the code has {expected}")


def check_env(root: Path, rendered: Path, compose: dict[str, Any]) -> None:
    known = code_env_keys(root)
    used: dict[str, set[str]] = {}
    values: list[tuple[str, Any, str]] = []
    for path in sorted(rendered.glob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            if not obj:
                continue
            where = f"chart {path.stem}"
            if obj["kind"] == "ConfigMap":
                for key, value in obj.get("data", {}).items():
                    used.setdefault(key, set()).add(where)
                    values.append((key, value, f"{where} ConfigMap/{obj['metadata']['name']}"))
            if obj["kind"] in ("Deployment", "Job"):
                spec = obj["spec"]["template"]["spec"]
                for container in spec.get("containers", []) + spec.get("initContainers", []):
                    for env in container.get("env", []):
                        used.setdefault(env["name"], set()).add(where)
                        if "value" in env:
                            values.append((env["name"], env["value"], f"{where} {obj['metadata']['name']}"))
    for name, conf in compose_sagaflow_services(compose).items():
        for key, value in (conf.get("environment", {}) or {}).items():
            used.setdefault(key, set()).add("docker-compose")
            if value is not None:
                values.append((key, value, f"docker-compose {name}"))
    unknown = []
    for key in sorted(used):
        if key in known or key in LIBRARY_KEYS:
            continue
        if key in PENDING_KEYS:
            warn("env-keys", f"{key} ({PENDING_KEYS[key]}) is set but no code reads it yet")
            continue
        unknown.append(key)
        fail("env-keys", f"{key} is set by {', '.join(sorted(used[key]))} but nothing reads it (typo?)")
    checked = 0
    for key, value, where in values:
        if known.get(key):
            checked += 1
            check_value(key, value, known[key], where)
    print(f"  env keys: {len(used)} set, {len(used) - len(unknown)} accounted for; {checked} values checked")


def check_dockerfile(root: Path) -> None:
    text = (root / "infra" / "docker" / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    froms = [line for line in lines if line.upper().startswith("FROM ")]
    if len(froms) < 2:
        fail("dockerfile", "not multi-stage")
    if any(":latest" in line or re.match(r"FROM\s+[^:\s$]+(\s|$)", line) for line in froms):
        fail("dockerfile", "a base image without a pinned tag")
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    if not users or users[-1].split(":")[0] in ("0", "root") or not users[-1].split(":")[0].isdigit():
        fail("dockerfile", f"the final USER must be a numeric non-root uid (got {users[-1:] or 'none'})")
    if not any(line.upper().startswith("HEALTHCHECK ") for line in lines):
        fail("dockerfile", "no HEALTHCHECK")
    arg = re.search(r"^ARG RUST_VERSION=(\S+)", text, re.M)
    channel = re.search(r'channel\s*=\s*"([^"]+)"', (root / "rust-toolchain.toml").read_text())
    if not arg or not channel or arg.group(1) != channel.group(1):
        fail(
            "dockerfile",
            f"ARG RUST_VERSION={arg and arg.group(1)} differs from rust-toolchain.toml {channel and channel.group(1)}",
        )
    ignore = (root / ".dockerignore").read_text().split()
    for needed in ("target", ".git", ".tools"):
        if needed not in ignore:
            fail("dockerfile", f".dockerignore does not exclude {needed}")


def check_compose(root: Path, compose: dict[str, Any]) -> None:
    base = root / "infra"
    for name, conf in compose.get("services", {}).items():
        for volume in conf.get("volumes", []) or []:
            source = str(volume).split(":", 1)[0]
            if source.startswith("."):
                if not (base / source).exists():
                    fail("compose", f"{name} mounts {source}, which does not exist")
    sagaflow = compose_sagaflow_services(compose)
    setup = sagaflow.get("setup", {})
    entry = " ".join(setup.get("entrypoint", []) or [])
    if "topics create" not in entry or "migrate all" not in entry:
        fail("compose", "setup does not run `sagaflow topics create` and `sagaflow migrate all`")
    for name, conf in sagaflow.items():
        if name == "setup":
            continue
        command = conf.get("command", [])
        if "--no-setup" not in command:
            fail("compose", f"{name} does not start with --no-setup")
        if conf.get("depends_on", {}).get("setup", {}).get("condition") != "service_completed_successfully":
            fail("compose", f"{name} does not wait for setup to complete")
        environment = conf.get("environment", {}) or {}
        for key in ("OTEL_EXPORTER_OTLP_ENDPOINT", "METRICS_LISTEN", "LOG_FORMAT", "KAFKA_BOOTSTRAP_SERVERS"):
            if key not in environment:
                fail("compose", f"{name} has no {key}")
        if not str(environment.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")).startswith("http://otel-collector:"):
            fail("compose", f"{name} does not export traces to the otel-collector service")
    for needed in ("otel-collector", "prometheus", "grafana", "kafka", "postgres"):
        if needed not in compose.get("services", {}):
            fail("compose", f"no {needed} service")


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    rendered = Path(sys.argv[2]).resolve()
    chart_values = yaml.safe_load((root / "helm" / "sagaflow" / "values.yaml").read_text())
    compose = yaml.safe_load((root / "infra" / "docker-compose.yml").read_text())
    check_services(root, chart_values, compose)
    check_env(root, rendered, compose)
    check_dockerfile(root)
    check_compose(root, compose)
    if failures:
        print(f"repo rules: {len(failures)} failure(s), {len(warnings)} warning(s)")
        return 1
    print(f"repo rules: ok ({len(warnings)} warning(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
