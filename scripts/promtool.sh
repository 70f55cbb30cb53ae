#!/usr/bin/env bash
# Makes sure promtool is on this machine, for the metrics tests
# (`promtool check metrics` on proxytainer's /metrics): Debian's prometheus
# package, installed with its service kept from starting (policy-rc.d), so
# no Prometheus server runs here. Does nothing when promtool is there; a
# failed install is reported, not fatal (the tests then say what is missing).
set -euo pipefail

log() { printf 'promtool: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

command -v promtool >/dev/null 2>&1 && exit 0

log "installing Debian's prometheus package for promtool (its service is not started)"
as_root apt-get update -qq || log "apt-get update failed; trying the install with the lists there are"
# policy-rc.d (exit 101: "action forbidden") keeps the maintainer scripts from starting prometheus.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
  as_root chmod +x "$policy"
  added_policy=1
fi
status=0
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends prometheus >/dev/null || status=$?
[ "$added_policy" = 1 ] && as_root rm -f "$policy"
[ "$status" = 0 ] || { log "apt-get install failed ($status); the metrics tests will fail until promtool is installed"; exit 0; }
log "installed $(promtool --version 2>&1 | head -n 1)"
