"""Runs checkov on the rendered Helm manifests, the Terraform tree and the Dockerfile,
with the skips of checkov-skips.yaml (each with a written reason), and fails on any
other failed check, on a parsing error, on a target that scanned nothing, on a skip
without a reason and on a skip that no longer matches anything.

Inline Terraform skips (`#checkov:skip=<id>:<reason>`) are listed, and one without a
reason (or with a token one) fails.

Usage: python checkov_check.py <repo root> <rendered manifests dir> <report dir>.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
INLINE_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")
MIN_REASON = 20

failures: list[str] = []


def fail(message: str) -> None:
    failures.append(message)
    print(f"  FAIL {message}")


def load_skips() -> dict[str, list[dict[str, str]]]:
    skips = yaml.safe_load((HERE / "checkov-skips.yaml").read_text()) or {}
    for framework, entries in skips.items():
        for entry in entries or []:
            why = " ".join(str(entry.get("why", "")).split())
            if not re.fullmatch(r"CKV2?_[A-Z0-9]+_\d+", str(entry.get("id", ""))):
                fail(f"checkov-skips.yaml: {framework}: bad id {entry.get('id')!r}")
            if len(why) < 40:
                fail(f"checkov-skips.yaml: {framework} {entry.get('id')}: a skip needs a written reason (`why`)")
    return {k: list(v or []) for k, v in skips.items()}


def inline_skips(root: Path) -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((root / "terraform").rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = INLINE_SKIP.search(line)
            if match:
                where = f"{path.relative_to(root)}:{number}"
                reason = (match.group(2) or "").strip()
                found.append((where, match.group(1), reason))
                if len(reason) < MIN_REASON:
                    fail(f"{where}: inline skip of {match.group(1)} without a written reason")
    return found


def start_checkov(framework: str, target: list[str]) -> subprocess.Popen[str]:
    command = [
        str(Path(sys.executable).parent / "checkov"),
        *target,
        "--framework",
        framework,
        "--skip-download",
        "--output",
        "json",
    ]
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_LOG_LEVEL="ERROR", LOG_LEVEL="ERROR")
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def collect(name: str, framework: str, process: subprocess.Popen[str], report: Path) -> dict[str, Any]:
    stdout, stderr = process.communicate()
    report.write_text(stdout)
    try:
        parsed = json.loads(stdout) if stdout.strip() else {}
    except json.JSONDecodeError:
        fail(f"{name}: checkov printed no JSON (exit {process.returncode}): {stderr.strip()[-400:]}")
        return {}
    # One framework gives one object; an empty scan gives a summary without results.
    if isinstance(parsed, list):
        parsed = next((p for p in parsed if p.get("check_type") == framework), {})
    return parsed


def evaluate(name: str, parsed: dict[str, Any], skip_ids: list[str]) -> None:
    """Checkov runs every check; failures of a listed skip are accepted here, so a
    skip that no longer matches any failure is noticed."""
    summary = parsed.get("summary", {})
    results = parsed.get("results", {})
    passed = summary.get("passed", 0)
    failed = results.get("failed_checks", [])
    inline = results.get("skipped_checks", [])
    accepted = [c for c in failed if c["check_id"] in skip_ids]
    rejected = [c for c in failed if c["check_id"] not in skip_ids]
    print(
        f"  {name}: passed {passed}, failed {len(rejected)}, skipped {len(accepted)} (listed) + "
        f"{len(inline)} (inline), parsing errors {summary.get('parsing_errors', 0)}, "
        f"resources {summary.get('resource_count', 0)}"
    )
    if summary.get("parsing_errors"):
        fail(f"{name}: checkov could not parse {summary['parsing_errors']} file(s): {results.get('parsing_errors')}")
    if passed == 0:
        fail(f"{name}: checkov passed no check: the target scanned nothing")
    for check in rejected:
        where = f"{check.get('file_path')}:{check.get('file_line_range', ['?'])[0]}"
        fail(f"{name}: {check['check_id']} {check.get('check_name')} — {check.get('resource')} ({where})")
    for skip in skip_ids:
        hits = sum(1 for c in accepted if c["check_id"] == skip)
        if hits == 0:
            fail(f"{name}: the skip of {skip} in checkov-skips.yaml matches nothing any more: remove it")
        else:
            print(f"    skipped {skip} on {hits} resource(s) (checkov-skips.yaml)")


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    rendered = Path(sys.argv[2]).resolve()
    reports = Path(sys.argv[3]).resolve()
    reports.mkdir(parents=True, exist_ok=True)

    skips = load_skips()
    print("skips (checkov-skips.yaml):")
    for framework, entries in skips.items():
        for entry in entries:
            print(f"  {framework}: {entry['id']} {entry.get('title', '')}")
    print("inline skips:")
    for where, check_id, reason in inline_skips(root):
        print(f"  {where}: {check_id}: {reason}")

    manifests = sorted(rendered.glob("*.yaml"))
    if not manifests:
        fail(f"no rendered manifests in {rendered}")
    targets = [
        # Files, not the directory: checkov leaves out directories whose name starts
        # with a dot, and the manifests are under .tools/.
        ("kubernetes (rendered chart)", "kubernetes", [arg for m in manifests for arg in ("--file", str(m))]),
        ("terraform", "terraform", ["--directory", str(root / "terraform")]),
        ("dockerfile", "dockerfile", ["--file", str(root / "infra" / "docker" / "Dockerfile")]),
    ]
    # The three scans run side by side (checkov spends most of its time starting up).
    running = [(name, framework, start_checkov(framework, target)) for name, framework, target in targets]
    for name, framework, process in running:
        skip_ids = [entry["id"] for entry in skips.get(framework, [])]
        parsed = collect(name, framework, process, reports / f"checkov-{framework}.json")
        evaluate(name, parsed, skip_ids)

    if failures:
        print(f"checkov: {len(failures)} failure(s); reports in {reports}")
        return 1
    print("checkov: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
