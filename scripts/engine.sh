#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine. Installs Debian's
# docker.io (with busybox-static, which the test images are made from, and
# docker-compose, which runs the compose example) when missing, and the
# PostgreSQL and Redis packages the tests run in containers
# (server-packages.sh) and promtool for the metrics tests (promtool.sh),
# starts dockerd when no engine answers, and waits for it.
# Safe to run again: it does nothing when the engine already answers.
set -euo pipefail

log() { printf 'engine: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x httpd >/dev/null || missing+=(busybox-static)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# Real clients the tests drive: curl (HTTP, TLS by name) and openssl (the TLS tests' certificates).
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi
# The real servers some tests and the bench run (PostgreSQL, Redis): installed, never started as services.
bash "$(dirname "$0")/server-packages.sh"
# promtool, which checks the metrics output in the tests: installed, its Prometheus service never started.
bash "$(dirname "$0")/promtool.sh"

if docker info >/dev/null 2>&1; then
  log "Docker $(docker version --format '{{.Server.Version}}' 2>/dev/null) answers"
  exit 0
fi

# A dockerd killed hard leaves its pid files behind, and a new one refuses to start over them.
for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "removing stale $pidfile"
    as_root rm -f "$pidfile"
  fi
done

logfile=${DOCKERD_LOG:-/tmp/dockerd.log}
log "starting dockerd (log: $logfile)"
as_root sh -c "nohup dockerd >'$logfile' 2>&1 &"
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    log "Docker $(docker version --format '{{.Server.Version}}') answers"
    exit 0
  fi
  sleep 0.5
done
log "dockerd did not answer within 60s; its log ends with:"
tail -n 30 "$logfile" >&2 || true
exit 1
