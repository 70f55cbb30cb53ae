#!/usr/bin/env bash
# Makes sure the tools `npm run bench` compares against are on this machine:
# Debian's iperf3, wrk, haproxy and socat, and systemd's socket proxy (which
# ships with systemd: systemd-socket-proxyd and systemd-socket-activate).
# Installs what is missing from Debian's packages; does nothing when all are there.
# Redis and PostgreSQL come from server-packages.sh, which engine.sh runs too.
# haproxy is only installed, never started as a service: the bench runs its own instances.
set -euo pipefail

log() { printf 'bench-tools: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v iperf3 >/dev/null 2>&1 || missing+=(iperf3)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v socat >/dev/null 2>&1 || missing+=(socat)
if ! command -v systemd-socket-activate >/dev/null 2>&1 ||
  { [ ! -x /lib/systemd/systemd-socket-proxyd ] && [ ! -x /usr/lib/systemd/systemd-socket-proxyd ]; }; then
  missing+=(systemd)
fi

if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  # iperf3 asks (debconf) whether to run a daemon; the answer is no.
  echo 'iperf3 iperf3/start_daemon boolean false' | as_root debconf-set-selections 2>/dev/null || true
  status=0
  bash "$(dirname "$0")/apt-install.sh" "${missing[@]}" || status=$?
  [ "$status" = 0 ] || { log "apt-get install failed ($status); the bench reports what it could not run"; exit 0; }
fi
# The redis section's server and client (redis-server, redis-benchmark), installed the same way.
bash "$(dirname "$0")/server-packages.sh"
log "iperf3 $(iperf3 --version 2>/dev/null | head -n1 | awk '{print $2}'), wrk $(wrk --version 2>&1 | head -n1 | awk '{print $2}'), haproxy $(haproxy -v 2>/dev/null | head -n1 | awk '{print $3}'), socat $(socat -V 2>/dev/null | grep -m1 'socat version' | awk '{print $3}'), systemd $(systemctl --version 2>/dev/null | head -n1 | awk '{print $2}')"
