#!/usr/bin/env bash
# Makes sure promtool is on this machine, for the metrics tests
# (`promtool check metrics` on proxytainer's /metrics): Debian's prometheus
# package, installed with its service kept from starting (policy-rc.d), so
# no Prometheus server runs here. Does nothing when promtool is there; a
# failed install is reported, not fatal (the tests then say what is missing).
set -euo pipefail

log() { printf 'promtool: %s\n' "$*" >&2; }

command -v promtool >/dev/null 2>&1 && exit 0

log "installing Debian's prometheus package for promtool (its service is not started)"
status=0
bash "$(dirname "$0")/apt-install.sh" prometheus || status=$?
[ "$status" = 0 ] || { log "apt-get install failed ($status); the metrics tests will fail until promtool is installed"; exit 0; }
log "installed $(promtool --version 2>&1 | head -n 1)"
