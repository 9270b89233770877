"""Parses every .tf file under terraform/ with python-hcl2 and asserts the project's
infrastructure rules (on top of checkov, which knows AWS in general but not these):

  rds-encrypted     every aws_db_instance: storage_encrypted = true, a KMS key,
                    publicly_accessible = false, no literal password
  sg-open           no security group ingress from 0.0.0.0/0 or ::/0 on PostgreSQL or
                    Kafka ports (nor on any port but 80/443)
  msk-transit       every aws_msk_cluster: client_broker = "TLS", in_cluster = true,
                    unauthenticated = false, public access DISABLED, at-rest KMS key
  kms-rotation      every aws_kms_key rotates
  logs-encrypted    every aws_cloudwatch_log_group: KMS key and retention
  secrets-kms       every aws_secretsmanager_secret: a customer-managed key
  eks-private       every aws_eks_cluster: private endpoint, Secrets envelope encryption
  prod-protection   examples/prod: RDS deletion protection and Multi-AZ, private EKS API
  documented        every variable has a description and a type, every output a description
  pinned            every module and example pins Terraform and its providers
  no-literals       no literal password, secret_string or private key in any file

Usage: python tf_rules.py <repo root>. Needs python-hcl2 8 on PYTHONPATH (deploy.sh).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hcl2

KAFKA_PORTS = set(range(9092, 9099)) | {2181, 9196, 9198}
DB_PORTS = {5432}
PUBLIC_OK_PORTS = {80, 443}
OPEN = {"0.0.0.0/0", "::/0"}

failures: list[str] = []
checked: dict[str, int] = {}


def fail(rule: str, where: str, message: str) -> None:
    failures.append(f"{rule}: {where}: {message}")
    print(f"  FAIL [{rule}] {where}: {message}")


def count(rule: str) -> None:
    checked[rule] = checked.get(rule, 0) + 1


def unquote(value: Any) -> Any:
    """python-hcl2 8 keeps the quotes of string literals and block labels."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {unquote(k): normalize(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return unquote(value)


def block(conf: dict[str, Any], name: str) -> dict[str, Any]:
    """The first nested block `name` (blocks parse as lists of dicts)."""
    value = conf.get(name)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return value if isinstance(value, dict) else {}


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${")


def resources(doc: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for entry in doc.get("resource", []):
        for rtype, named in entry.items():
            if rtype == kind:
                for name, conf in named.items():
                    found.append((f"{kind}.{name}", conf))
    return found


def ports(from_port: Any, to_port: Any, protocol: Any) -> set[int] | None:
    """The ports a rule opens; None means all of them (or unknown)."""
    if str(protocol) in ("-1", "all"):
        return None
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        return None
    return set(range(low, high + 1))


def check_open(rule_where: str, cidrs: list[Any], opened: set[int] | None) -> None:
    count("sg-open")
    if not any(c in OPEN for c in cidrs):
        return
    if opened is None:
        fail("sg-open", rule_where, "ingress from the internet on every port")
    elif opened & (KAFKA_PORTS | DB_PORTS):
        fail("sg-open", rule_where, f"ingress from the internet on DB/Kafka ports {sorted(opened & (KAFKA_PORTS | DB_PORTS))}")
    elif opened - PUBLIC_OK_PORTS:
        fail("sg-open", rule_where, f"ingress from the internet on ports other than 80/443: {sorted(opened)[:5]}")


def check_file(root: Path, path: Path, doc: dict[str, Any]) -> None:
    rel = str(path.relative_to(root))

    for name, conf in resources(doc, "aws_db_instance"):
        where = f"{rel} {name}"
        count("rds-encrypted")
        if conf.get("storage_encrypted") is not True:
            fail("rds-encrypted", where, "storage_encrypted is not true")
        if not conf.get("kms_key_id"):
            fail("rds-encrypted", where, "no customer-managed kms_key_id")
        if conf.get("publicly_accessible") is not False:
            fail("rds-encrypted", where, "publicly_accessible is not false")
        if "password" in conf and not is_reference(conf["password"]):
            fail("rds-encrypted", where, "a literal master password")
        if conf.get("manage_master_user_password") is not True and "password" not in conf:
            fail("rds-encrypted", where, "neither manage_master_user_password nor a password reference")

    for name, conf in resources(doc, "aws_security_group"):
        for rule in conf.get("ingress", []) if isinstance(conf.get("ingress"), list) else []:
            check_open(
                f"{rel} {name} ingress",
                list(rule.get("cidr_blocks", []) or []) + list(rule.get("ipv6_cidr_blocks", []) or []),
                ports(rule.get("from_port"), rule.get("to_port"), rule.get("protocol")),
            )
    for name, conf in resources(doc, "aws_security_group_rule"):
        if conf.get("type") == "ingress":
            check_open(
                f"{rel} {name}",
                list(conf.get("cidr_blocks", []) or []) + list(conf.get("ipv6_cidr_blocks", []) or []),
                ports(conf.get("from_port"), conf.get("to_port"), conf.get("protocol")),
            )
    for name, conf in resources(doc, "aws_vpc_security_group_ingress_rule"):
        check_open(
            f"{rel} {name}",
            [conf.get("cidr_ipv4"), conf.get("cidr_ipv6")],
            ports(conf.get("from_port"), conf.get("to_port"), conf.get("ip_protocol")),
        )

    for name, conf in resources(doc, "aws_msk_cluster"):
        where = f"{rel} {name}"
        count("msk-transit")
        encryption = block(conf, "encryption_info")
        transit = block(encryption, "encryption_in_transit")
        if transit.get("client_broker") != "TLS":
            fail("msk-transit", where, f"client_broker is {transit.get('client_broker')!r}, not TLS")
        if transit.get("in_cluster") is not True:
            fail("msk-transit", where, "in_cluster encryption is not true")
        if not encryption.get("encryption_at_rest_kms_key_arn"):
            fail("msk-transit", where, "no customer-managed key for data at rest")
        if block(conf, "client_authentication").get("unauthenticated") is not False:
            fail("msk-transit", where, "unauthenticated access is not off")
        public = block(block(block(conf, "broker_node_group_info"), "connectivity_info"), "public_access")
        if public.get("type") != "DISABLED":
            fail("msk-transit", where, "public access is not DISABLED")

    for name, conf in resources(doc, "aws_kms_key"):
        count("kms-rotation")
        if conf.get("enable_key_rotation") is not True:
            fail("kms-rotation", f"{rel} {name}", "enable_key_rotation is not true")

    for name, conf in resources(doc, "aws_cloudwatch_log_group"):
        count("logs-encrypted")
        if not conf.get("kms_key_id") or not conf.get("retention_in_days"):
            fail("logs-encrypted", f"{rel} {name}", "needs kms_key_id and retention_in_days")

    for name, conf in resources(doc, "aws_secretsmanager_secret"):
        count("secrets-kms")
        if not conf.get("kms_key_id"):
            fail("secrets-kms", f"{rel} {name}", "no customer-managed kms_key_id")

    for name, conf in resources(doc, "aws_eks_cluster"):
        where = f"{rel} {name}"
        count("eks-private")
        vpc = block(conf, "vpc_config")
        if vpc.get("endpoint_private_access") is not True:
            fail("eks-private", where, "endpoint_private_access is not true")
        encryption = block(conf, "encryption_config")
        if "secrets" not in (encryption.get("resources") or []):
            fail("eks-private", where, "Kubernetes Secrets are not envelope-encrypted")

    for entry in doc.get("variable", []):
        for name, conf in entry.items():
            count("documented")
            if not str(conf.get("description", "")).strip():
                fail("documented", rel, f"variable {name} has no description")
            if "type" not in conf:
                fail("documented", rel, f"variable {name} has no type")
    for entry in doc.get("output", []):
        for name, conf in entry.items():
            count("documented")
            if not str(conf.get("description", "")).strip():
                fail("documented", rel, f"output {name} has no description")


def check_literals(root: Path, path: Path) -> None:
    rel = str(path.relative_to(root))
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        count("no-literals")
        key, _, value = stripped.partition("=")
        key, value = key.strip(), value.strip()
        if key in ("password", "master_password", "secret_string") and value.startswith('"'):
            fail("no-literals", f"{rel}:{number}", f"literal {key}")
        if "BEGIN" in stripped and "PRIVATE KEY" in stripped:
            fail("no-literals", f"{rel}:{number}", "a private key")


def check_pinned(root: Path, directory: Path, docs: dict[Path, dict[str, Any]]) -> None:
    rel = str(directory.relative_to(root))
    count("pinned")
    blocks = [t for p, d in docs.items() if p.parent == directory for t in d.get("terraform", [])]
    if not any(b.get("required_version") for b in blocks):
        fail("pinned", rel, "no required_version")
    providers: dict[str, Any] = {}
    for b in blocks:
        for entry in b.get("required_providers", []) or []:
            providers.update(entry)
    if not providers:
        fail("pinned", rel, "no required_providers")
    for name, spec in providers.items():
        if not isinstance(spec, dict) or not spec.get("version") or not spec.get("source"):
            fail("pinned", rel, f"provider {name} has no source and version constraint")
    used = set()
    for p, d in docs.items():
        if p.parent != directory:
            continue
        for entry in d.get("resource", []) + d.get("data", []):
            for rtype in entry:
                used.add(rtype.split("_", 1)[0])
    for prefix in sorted(used - set(providers)):
        fail("pinned", rel, f"uses provider {prefix} without declaring it in required_providers")


def check_prod(root: Path, docs: dict[Path, dict[str, Any]]) -> None:
    prod = root / "terraform" / "examples" / "prod"
    modules: dict[str, dict[str, Any]] = {}
    for p, d in docs.items():
        if p.parent == prod:
            for entry in d.get("module", []):
                modules.update(entry)
    by_source = {str(conf.get("source", "")).rsplit("/", 1)[-1]: (name, conf) for name, conf in modules.items()}
    for needed in ("network", "eks", "msk", "rds", "secrets", "iam"):
        count("prod-protection")
        if needed not in by_source:
            fail("prod-protection", "terraform/examples/prod", f"does not use modules/{needed}")
    if "rds" in by_source:
        name, conf = by_source["rds"]
        if conf.get("deletion_protection") is not True:
            fail("prod-protection", f"terraform/examples/prod module.{name}", "deletion_protection is not true")
        if conf.get("multi_az") is not True:
            fail("prod-protection", f"terraform/examples/prod module.{name}", "multi_az is not true")
        if conf.get("force_ssl") is False:
            fail("prod-protection", f"terraform/examples/prod module.{name}", "force_ssl is off")
    if "eks" in by_source:
        name, conf = by_source["eks"]
        if conf.get("endpoint_public_access") is not False:
            fail("prod-protection", f"terraform/examples/prod module.{name}", "endpoint_public_access is not false")


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    version = getattr(hcl2, "__version__", "?")
    if not str(version).startswith("8."):
        print(f"python-hcl2 8 expected, got {version} from {hcl2.__file__}")
        return 1
    files = sorted(p for p in (root / "terraform").rglob("*.tf") if ".terraform" not in p.parts)
    print(f"python-hcl2 {version}: {len(files)} files")
    docs: dict[Path, dict[str, Any]] = {}
    for path in files:
        try:
            with path.open() as handle:
                docs[path] = normalize(hcl2.load(handle))
        except Exception as error:  # noqa: BLE001 - any parse error is a finding
            fail("parse", str(path.relative_to(root)), f"{type(error).__name__}: {error}")
            continue
        check_file(root, path, docs[path])
        check_literals(root, path)
    for directory in sorted({p.parent for p in docs}):
        check_pinned(root, directory, docs)
    check_prod(root, docs)
    if not files:
        fail("parse", "terraform", "no .tf files")

    print("  checked: " + ", ".join(f"{rule} {n}" for rule, n in sorted(checked.items())))
    if failures:
        print(f"terraform rules: {len(failures)} failure(s)")
        return 1
    print("terraform rules: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
