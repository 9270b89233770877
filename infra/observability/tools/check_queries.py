#!/usr/bin/env python3
"""Static checks of the observability config, run by infra/checks/observability.sh.

    check_queries.py dashboard-rules OUT.yml   every dashboard query (panels and
                                               variables) as a recording rule, with
                                               Grafana variables substituted, for
                                               `promtool check rules OUT.yml`
    check_queries.py drift                     every `sagaflow_*` metric named by a
                                               dashboard, a rule or an annotation is
                                               registered in the Rust sources; every
                                               `sagaflow:*` recording rule used is
                                               defined; histograms read through
                                               `_bucket` have buckets configured
    check_queries.py coverage                  every alert of alerts.yml has a unit
                                               test where it fires and one where it
                                               does not (alerts.test.yml)
    check_queries.py otel                      the collector's pipelines name only
                                               components it defines

Paths are relative to the repository root (two levels above this file's folder).
Needs PyYAML.
"""

import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
OBS = ROOT / "infra" / "observability"
PROM = OBS / "prometheus"
DASHBOARDS = OBS / "grafana" / "dashboards"
RULE_FILES = [PROM / "recording.yml", PROM / "alerts.yml"]

# Grafana's built-in interval variables, replaced by a plausible value.
BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__interval_ms": "60000",
}
VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)\]\]")
METRIC = re.compile(r"(?<![\w:])sagaflow_[a-z0-9_]+")
RECORDED = re.compile(r"(?<![\w:])sagaflow:[a-zA-Z0-9_:]+")
HIST_SUFFIXES = ("_bucket", "_sum", "_count")
# Metrics Prometheus itself makes; allowed in rules without a registration.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def fail(messages):
    for message in messages:
        print(f"  FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def substitute(expr):
    """Replaces Grafana variables: built-ins by an interval, the rest by `.*`
    (dashboard variables are multi-value regex matchers)."""
    def one(match):
        name = match.group(1) or match.group(2) or match.group(3)
        return BUILTINS.get(name, ".*")
    return VARIABLE.sub(one, expr)


def dashboard_queries():
    """(dashboard file, where, expr) for every query of every dashboard."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())

        def panels(items):
            for panel in items:
                yield panel
                yield from panels(panel.get("panels", []))

        for panel in panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    where = f"panel {panel.get('title')!r} target {target.get('refId')}"
                    found.append((path.name, where, target["expr"]))
        for var in board.get("templating", {}).get("list", []):
            if var.get("type") != "query":
                continue
            query = var.get("query")
            if isinstance(query, dict):
                query = query.get("query", "")
            query = (query or "").strip()
            # label_values(expr, label), query_result(expr), or a bare expr.
            m = re.fullmatch(r"label_values\((.*),\s*\w+\s*\)", query, re.S) or \
                re.fullmatch(r"query_result\((.*)\)", query, re.S)
            expr = m.group(1) if m else query
            if expr and not re.fullmatch(r"label_names\(\)|metrics\(.*\)", query):
                found.append((path.name, f"variable {var.get('name')!r}", expr))
    return found


def cmd_dashboard_rules(out):
    queries = dashboard_queries()
    if not queries:
        fail([f"no dashboard queries found in {DASHBOARDS}"])
    rules = []
    for i, (name, where, expr) in enumerate(queries):
        rules.append({"record": f"dashboard_query:{i}", "expr": substitute(expr),
                      "labels": {"dashboard": name, "where": where}})
    pathlib.Path(out).write_text(yaml.safe_dump(
        {"groups": [{"name": "dashboard-queries", "rules": rules}]}, sort_keys=False))
    print(f"  {len(rules)} dashboard queries from "
          f"{len(list(DASHBOARDS.glob('*.json')))} dashboards -> {out}")


def rust_sources():
    for path in ROOT.rglob("*.rs"):
        rel = path.relative_to(ROOT).parts
        if rel[0] in ("target", ".tools", ".data") or "tests" in rel:
            continue
        yield path


def registered_metrics():
    """Every `"sagaflow_..."` string literal of the non-test Rust sources."""
    names = set()
    literal = re.compile(r'"(sagaflow_[a-z0-9_]+)"')
    for path in rust_sources():
        names.update(literal.findall(path.read_text(errors="replace")))
    return names


def bucket_config():
    """How the Prometheus exporter is told to render histograms with buckets:
    (global, [(kind, text)]) from `.set_buckets(` and
    `set_buckets_for_metric(Matcher::Full|Prefix|Suffix("..."), ...)`."""
    everywhere, matchers = False, []
    matcher = re.compile(r'Matcher::(Full|Prefix|Suffix)\(\s*"([^"]+)"')
    for path in rust_sources():
        text = path.read_text(errors="replace")
        if ".set_buckets(" in text:
            everywhere = True
        if "set_buckets_for_metric" in text:
            # Constants used as matcher text are resolved by name below.
            consts = dict(re.findall(r'const (\w+): &str = "([^"]+)"', text))
            for kind, value in matcher.findall(text):
                matchers.append((kind, value))
            for kind, const in re.findall(r"Matcher::(Full|Prefix|Suffix)\(\s*(\w+)", text):
                if const in consts:
                    matchers.append((kind, consts[const]))
            for kind, value in re.findall(
                    r'Matcher::(Full|Prefix|Suffix)\(\s*"([^"]+)"\s*\.\s*(?:to_owned|to_string|into)\(\)',
                    text):
                matchers.append((kind, value))
    return everywhere, matchers


def has_buckets(metric, everywhere, matchers):
    if everywhere:
        return True
    for kind, value in matchers:
        if (kind == "Full" and metric == value) or \
           (kind == "Prefix" and metric.startswith(value)) or \
           (kind == "Suffix" and metric.endswith(value)):
            return True
    return False


def strip_comments(text):
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def cmd_drift():
    registered = registered_metrics()
    if not registered:
        fail(["found no sagaflow_* metric names in the Rust sources"])
    everywhere, matchers = bucket_config()
    recorded = set()
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            recorded.update(r["record"] for r in group["rules"] if "record" in r)

    sources = [(p.relative_to(ROOT), strip_comments(p.read_text())) for p in RULE_FILES]
    for name, where, expr in dashboard_queries():
        sources.append((f"grafana/dashboards/{name} {where}", expr))
    for path in sorted(DASHBOARDS.glob("*.json")):
        # Titles and descriptions name metrics too.
        for panel in json.loads(path.read_text()).get("panels", []):
            text = f"{panel.get('title', '')}\n{panel.get('description', '')}"
            sources.append((f"grafana/dashboards/{path.name} panel {panel.get('title')!r}", text))

    problems, used = [], set()
    for where, text in sources:
        for token in METRIC.findall(text):
            base = token
            for suffix in HIST_SUFFIXES:
                if token.endswith(suffix) and token[: -len(suffix)] in registered:
                    base = token[: -len(suffix)]
            used.add(base)
            if base not in registered:
                problems.append(f"{where}: metric {token} is not registered by the code")
            elif token.endswith("_bucket") and base != token and \
                    not has_buckets(base, everywhere, matchers):
                problems.append(
                    f"{where}: {token} needs buckets, but the Prometheus exporter is not "
                    f"configured with buckets for {base} (it renders a summary)")
        for token in RECORDED.findall(text):
            if token not in recorded:
                problems.append(f"{where}: recording rule {token} is not defined")
    problems = sorted(set(problems))
    if problems:
        fail(problems)
    print(f"  {len(used)} metric names used, all registered "
          f"({len(registered)} registered in the code); {len(recorded)} recording rules")
    unused = sorted(registered - used)
    if unused:
        print(f"  note: registered but on no dashboard or rule: {', '.join(unused)}")


def cmd_coverage():
    alerts = []
    for group in yaml.safe_load((PROM / "alerts.yml").read_text())["groups"]:
        alerts += [r["alert"] for r in group["rules"] if "alert" in r]
    fires, quiet = set(), set()
    for test in yaml.safe_load((PROM / "alerts.test.yml").read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    problems = []
    for alert in alerts:
        if alert not in fires:
            problems.append(f"alert {alert} has no unit test where it fires")
        if alert not in quiet:
            problems.append(f"alert {alert} has no unit test where it must not fire")
    unknown = (fires | quiet) - set(alerts)
    problems += [f"alerts.test.yml tests unknown alert {a}" for a in sorted(unknown)]
    if problems:
        fail(problems)
    print(f"  {len(alerts)} alerts, each tested firing and not firing")


def cmd_otel():
    config = yaml.safe_load((OBS / "otel-collector.yaml").read_text())
    problems = []
    pipelines = config.get("service", {}).get("pipelines", {})
    if "traces" not in pipelines:
        problems.append("no traces pipeline")
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                if component not in (config.get(kind) or {}):
                    problems.append(f"pipeline {name} uses {kind[:-1]} {component}, "
                                    f"which is not defined")
        if not pipeline.get("receivers") or not pipeline.get("exporters"):
            problems.append(f"pipeline {name} needs receivers and exporters")
    for ext in config.get("service", {}).get("extensions", []):
        if ext not in (config.get("extensions") or {}):
            problems.append(f"extension {ext} is not defined")
    protocols = config.get("receivers", {}).get("otlp", {}).get("protocols", {})
    for proto in ("grpc", "http"):
        if proto not in protocols:
            problems.append(f"the otlp receiver does not accept {proto}")
    exporters = config.get("exporters", {})
    if "debug" not in exporters or not any(e.startswith("otlp") for e in exporters):
        problems.append("exporters must include debug and an otlp exporter")
    if problems:
        fail(problems)
    print(f"  pipelines {', '.join(pipelines)}: every component defined")


def main(argv):
    commands = {
        "dashboard-rules": lambda: cmd_dashboard_rules(argv[1]),
        "drift": cmd_drift,
        "coverage": cmd_coverage,
        "otel": cmd_otel,
    }
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    commands[argv[0]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
