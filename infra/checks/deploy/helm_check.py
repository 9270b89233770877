"""Lints and renders helm/sagaflow with the Helm SDK (helm-python-sdk, no helm binary),
validates every rendered object against the Kubernetes schemas (kubernetes-validate)
and asserts the chart's own rules on the rendered objects.

Scenarios: the chart's defaults, values-dev.yaml, values-prod.yaml and every
helm/sagaflow/ci/*-values.yaml. Rendered manifests go to <out>/<scenario>.yaml (checkov
scans them next). Negative cases prove the chart's guards refuse bad values.

Usage: python helm_check.py <repo root> <out dir>. Exit 1 on any failure.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

# The Kubernetes version the chart is validated against (EKS in terraform/ runs 1.31).
KUBE_VERSION = "1.31.0"
NAMESPACE = "sagaflow"
RELEASE = "sagaflow"

# Custom resources have no schema in kubernetes-validate; each is skipped with why.
CRD_KINDS = {
    "ServiceMonitor": "Prometheus Operator CRD (monitoring.coreos.com/v1): its schema ships with "
    "the operator, not with Kubernetes; the chart renders it only with "
    "metrics.serviceMonitor.enabled",
}

SECRET_LIKE = ("PASSWORD", "SECRET", "API_KEY", "TOKEN", "PRIVATE_KEY")

failures: list[str] = []


def fail(message: str) -> None:
    failures.append(message)
    print(f"  FAIL {message}")


def scenarios(chart_dir: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {"default": {}}
    for name in ("values-dev.yaml", "values-prod.yaml"):
        found[name.removesuffix(".yaml")] = yaml.safe_load((chart_dir / name).read_text()) or {}
    for path in sorted((chart_dir / "ci").glob("*-values.yaml")):
        found["ci-" + path.name.removesuffix("-values.yaml")] = yaml.safe_load(path.read_text()) or {}
    return found


def lint(chart_dir: Path, name: str, values: dict[str, Any]) -> None:
    report = helm.lint(
        str(chart_dir),
        values or None,
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{KUBE_VERSION}",
    )
    for message in report.get("messages", []):
        severity = message.get("severity", 0)
        text = f"{name}: helm lint {message.get('path')}: {message.get('error')}"
        if severity >= 2:
            fail(text)
        else:
            print(f"  info {text}")
    for error in report.get("errors") or []:
        fail(f"{name}: helm lint: {error}")


def render(chart: helm.Chart, values: dict[str, Any]) -> list[dict[str, Any]]:
    rendered = chart.render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects: list[dict[str, Any]] = []
    for template, text in sorted(rendered.items()):
        if template.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                document.setdefault("__template__", template)
                objects.append(document)
    return objects


def write_manifests(objects: list[dict[str, Any]], path: Path) -> None:
    documents = []
    for obj in objects:
        clean = {k: v for k, v in obj.items() if k != "__template__"}
        documents.append(f"# Source: {obj['__template__']}\n" + yaml.safe_dump(clean, sort_keys=False))
    path.write_text("---\n".join(documents))


def validate_schema(name: str, objects: list[dict[str, Any]]) -> None:
    skipped: dict[str, int] = {}
    for obj in objects:
        clean = {k: v for k, v in obj.items() if k != "__template__"}
        kind = clean.get("kind", "?")
        label = f"{name}: {kind}/{clean.get('metadata', {}).get('name')}"
        if kind in CRD_KINDS:
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        try:
            kubernetes_validate.validate(clean, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            fail(f"{label} does not validate against Kubernetes {KUBE_VERSION}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            fail(f"{label}: no schema ({error.message}); add it to CRD_KINDS with a reason if it is a CRD")
    for kind, count in skipped.items():
        print(f"  skip {name}: {count} {kind} not schema-validated: {CRD_KINDS[kind]}")


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj.get("kind") in ("Deployment", "Job"):
        return obj["spec"]["template"]["spec"]
    return None


def check_rules(name: str, values: dict[str, Any], merged: dict[str, Any], objects: list[dict[str, Any]]) -> None:
    """The chart's own rules, on what it renders."""
    kinds: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        kinds.setdefault(obj["kind"], []).append(obj)

    if "Secret" in kinds:
        fail(f"{name}: the chart renders a Secret; secrets are only referenced (existingSecret)")

    enabled = sorted(n for n, s in merged["services"].items() if s.get("enabled"))
    deployed = sorted(
        d["metadata"]["labels"]["app.kubernetes.io/component"] for d in kinds.get("Deployment", [])
    )
    if deployed != enabled:
        fail(f"{name}: Deployments {deployed} != enabled services {enabled}")

    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        label = f"{name}: {obj['kind']}/{obj['metadata']['name']}"
        pod_sc = spec.get("securityContext", {})
        if not pod_sc.get("runAsNonRoot"):
            fail(f"{label}: pod securityContext.runAsNonRoot is not true")
        if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            fail(f"{label}: pod seccompProfile is not RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            fail(f"{label}: automountServiceAccountToken is not false")
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            where = f"{label} container {container['name']}"
            sc = container.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                fail(f"{where}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                fail(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                fail(f"{where}: capabilities.drop is not [ALL]")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(part, {}):
                        fail(f"{where}: no {part}.{resource}")
            if container["image"].endswith(":latest"):
                fail(f"{where}: image tag latest")
            for env in container.get("env", []):
                if "value" in env and env["name"].upper().endswith(SECRET_LIKE):
                    fail(f"{where}: env {env['name']} looks secret but has a literal value")
            if obj["kind"] == "Deployment":
                port_names = {p.get("name") for p in container.get("ports", [])}
                for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                    if probe not in container:
                        fail(f"{where}: no {probe}")
                        continue
                    handler = container[probe].get("httpGet") or container[probe].get("tcpSocket") or {}
                    port = handler.get("port")
                    if isinstance(port, str) and port not in port_names:
                        fail(f"{where}: {probe} uses port {port!r}, which the container does not declare")
            if obj["kind"] == "Deployment" and container.get("args", [])[:1] != ["serve"]:
                fail(f"{where}: does not run `sagaflow serve`")
            if obj["kind"] == "Deployment" and "--no-setup" not in container.get("args", []):
                fail(f"{where}: services must start with --no-setup (the setup job migrates)")

    jobs = kinds.get("Job", [])
    if merged["setup"]["enabled"]:
        if len(jobs) != 1:
            fail(f"{name}: expected one setup Job, got {len(jobs)}")
        for job in jobs:
            hooks = job["metadata"].get("annotations", {}).get("helm.sh/hook", "")
            if set(hooks.split(",")) != {"pre-install", "pre-upgrade"}:
                fail(f"{name}: setup Job hook is {hooks!r}, not pre-install,pre-upgrade")
            migrations = [c["name"] for c in job["spec"]["template"]["spec"].get("initContainers", [])]
            if merged["setup"]["migrations"] and sorted(migrations) != sorted(f"migrate-{s}" for s in enabled):
                fail(f"{name}: setup Job migrates {migrations}, expected every enabled service")

    registry = merged["kafka"].get("schemaRegistryUrl")
    for config in kinds.get("ConfigMap", []):
        data = config.get("data") or {}
        if "KAFKA_BOOTSTRAP_SERVERS" in data and data.get("SCHEMA_REGISTRY_URL") != (registry or None):
            fail(f"{name}: ConfigMap {config['metadata']['name']} has SCHEMA_REGISTRY_URL "
                 f"{data.get('SCHEMA_REGISTRY_URL')!r}, expected {registry!r}")
    if merged["setup"]["enabled"]:
        for job in jobs:
            registers = [c for c in job["spec"]["template"]["spec"]["containers"] if c.get("args") == ["schemas", "register"]]
            if bool(registers) != bool(registry):
                fail(f"{name}: the setup Job {'does not register' if registry else 'registers'} schemas "
                     f"with kafka.schemaRegistryUrl {registry!r}")

    for ingress in kinds.get("Ingress", []):
        if not ingress["spec"].get("tls"):
            fail(f"{name}: Ingress {ingress['metadata']['name']} has no TLS")

    if merged["networkPolicy"]["enabled"]:
        selected = {
            tuple(sorted(p["spec"]["podSelector"]["matchLabels"].items())) for p in kinds.get("NetworkPolicy", [])
        }
        for obj in objects:
            spec = pod_spec(obj)
            if spec is None:
                continue
            labels = obj["spec"]["template"]["metadata"]["labels"]
            if not any(all(labels.get(k) == v for k, v in sel) for sel in selected):
                fail(f"{name}: {obj['kind']}/{obj['metadata']['name']} has no NetworkPolicy")

    for hpa in kinds.get("HorizontalPodAutoscaler", []):
        if hpa["spec"]["maxReplicas"] > merged["kafka"]["partitions"]:
            fail(f"{name}: HPA {hpa['metadata']['name']} scales past kafka.partitions")


def negative_cases(chart: helm.Chart, chart_dir: Path) -> None:
    """Values the chart must refuse."""
    cases: list[tuple[str, dict[str, Any]]] = [
        (
            "a literal secret in a service's env",
            {"services": {"gateway": {"env": {"GATEWAY_JWT_HS256_SECRET": "literal"}}}},
        ),
        ("an unknown probe kind", {"services": {"cart": {"probes": "exec"}}}),
        ("an HTTP probe on a service without an API", {"services": {"inventory": {"probes": "tcp"}}}),
        (
            "an HPA beyond the partitions",
            {"kafka": {"partitions": 4}, "services": {"gateway": {"autoscaling": {"enabled": True, "maxReplicas": 8}}}},
        ),
        ("an ingress without a TLS secret", {"ingress": {"enabled": True, "tls": {"secretName": ""}}}),
        ("SASL without a credentials Secret", {"kafka": {"sasl": {"enabled": True, "existingSecret": ""}}}),
        ("no PostgreSQL password Secret", {"postgres": {"existingSecret": ""}}),
        ("an image digest that is not sha256", {"image": {"digest": "latest"}}),
        ("a schema registry URL that is not http(s)", {"kafka": {"schemaRegistryUrl": "registry:8081"}}),
    ]
    def attempt(values: dict[str, Any]) -> None:
        chart.validate_schema(chart.merge_values(copy.deepcopy(values)))
        chart.render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)

    # Control: the same path accepts the defaults, so a refusal below is the case's.
    try:
        attempt({})
    except helm.HelmError as error:
        fail(f"the negative cases' control (default values) was refused: {error}")
        return
    for what, values in cases:
        try:
            attempt(values)
        except helm.HelmError as error:
            reason = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
            print(f"  ok   refused {what}: {reason[:160]}")
            continue
        fail(f"the chart accepted {what}")


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    out = Path(sys.argv[2]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.yaml"):
        old.unlink()
    chart_dir = root / "helm" / "sagaflow"
    chart = helm.Chart.load(str(chart_dir))
    print(f"chart {chart.name} {chart.version} (Helm SDK {helm.helm_sdk_version()}), Kubernetes {KUBE_VERSION}")

    for name, values in scenarios(chart_dir).items():
        print(f"scenario {name}")
        lint(chart_dir, name, values)
        try:
            objects = render(chart, values)
        except helm.HelmError as error:
            fail(f"{name}: render failed: {error}")
            continue
        write_manifests(objects, out / f"{name}.yaml")
        counts: dict[str, int] = {}
        for obj in objects:
            counts[obj["kind"]] = counts.get(obj["kind"], 0) + 1
        print("  rendered " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        validate_schema(name, objects)
        check_rules(name, values, chart.merge_values(values), objects)

    print("negative cases")
    negative_cases(chart, chart_dir)

    if failures:
        print(f"helm: {len(failures)} failure(s)")
        return 1
    print("helm: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
