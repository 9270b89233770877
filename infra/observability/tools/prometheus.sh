# shellcheck shell=bash
# Source it: `ensure_prometheus` puts `prometheus` and `promtool` on the PATH,
# installing Debian's `prometheus` package when they are missing (needs root), and
# makes sure the package's own service is not left running.
# Used by infra/checks/observability.sh and infra/checks/prometheus-scrape.sh.

ensure_prometheus() {
  if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
    [[ $(id -u) -eq 0 ]] || {
      echo "prometheus/promtool are missing; install Debian's 'prometheus' package (needs root)" >&2
      return 1
    }
    echo "installing Prometheus (Debian package 'prometheus')" >&2
    # policy-rc.d exit 101 = "do not start services" while the package installs.
    local policy=/usr/sbin/policy-rc.d added_policy="" rc=0
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
    fi
    apt-get -o DPkg::Lock::Timeout=600 update -qq || rc=$?
    if [[ $rc -eq 0 ]]; then
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends prometheus >/dev/null || rc=$?
    fi
    [[ -n $added_policy ]] && rm -f "$policy"
    [[ $rc -eq 0 ]] || { echo "apt-get install prometheus failed" >&2; return 1; }
    # Where systemd runs, the unit may still have been enabled or started.
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
      systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
    if command -v service >/dev/null; then service prometheus stop >/dev/null 2>&1 || true; fi
  fi
  if pgrep -u prometheus -x prometheus >/dev/null 2>&1; then
    echo "the Debian prometheus service is running (user prometheus); stop it: service prometheus stop" >&2
    return 1
  fi
}
