#!/usr/bin/env bash
# The Python producer example against a running platform (./infra/dev/up.sh):
# installs confluent-kafka (requirements.txt) into .tools/venv-kafka with
# infra/dev/python.sh, makes sure the SKU has stock (`sagaflow stock set`, when the
# binary is built), then runs start_checkout.py, which starts a checkout on Kafka
# and fails unless the saga completes within EXAMPLE_TIMEOUT seconds (default 90).
#
#   KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:$SAGAFLOW_BROKER_PORT, the local
#   broker of up.sh), EXAMPLE_TENANT (demo), EXAMPLE_USER (python-example),
#   EXAMPLE_SKU (MUG-BLUE); extra arguments go to start_checkout.py.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../../infra/dev/env.sh
source "$HERE/../../infra/dev/env.sh"
export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$SAGAFLOW_BROKER_PORT}"
sku="${EXAMPLE_SKU:-MUG-BLUE}"

python="$("$SAGAFLOW_ROOT/infra/dev/python.sh" kafka "$HERE/requirements.txt")"
export PYTHONDONTWRITEBYTECODE=1

bin="${SAGAFLOW_BIN:-$SAGAFLOW_ROOT/target/release/sagaflow}"
if [[ -x $bin ]]; then
  left="$("$bin" stock get "$sku" 2>/dev/null | sed 's/.*: //' || true)"
  [[ "$left" =~ ^[0-9]+$ && $left -ge 10 ]] || "$bin" stock set "$sku" 100 >/dev/null
else
  log "warning: $bin not built; make sure $sku has stock (sagaflow stock set $sku <n>)"
fi

log "python producer: a checkout of $sku on $KAFKA_BOOTSTRAP_SERVERS"
"$python" "$HERE/start_checkout.py" --tenant "${EXAMPLE_TENANT:-demo}" \
  --user "${EXAMPLE_USER:-python-example}" --sku "$sku" \
  --timeout "${EXAMPLE_TIMEOUT:-90}" "$@"
