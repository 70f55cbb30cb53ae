#!/usr/bin/env bash
# Sets everything up on a fresh machine and shows the main job: a container
# asleep, a request through proxytainer waking it, and proxytainer putting it
# back to sleep when idle. Needs root (or sudo) the first time, to install
# Docker from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Making sure a Docker engine runs"
bash scripts/engine.sh

say "Making sure of a Node.js 22.12 or later (Node.js 24 in .node/ where the machine's is older)"
node=$(sh scripts/node.sh)
echo "node: $node $("$node" --version)"

say "Installing and building proxytainer"
[ -d node_modules ] || sh scripts/node.sh npm ci --no-audit --no-fund
npm run build --silent
bash scripts/build-test-images.sh

PORT=${DEMO_PORT:-15001}
UPSTREAM=${DEMO_UPSTREAM_PORT:-15000}
NAME=proxytainer-demo
IMAGE=${PROXYTAINER_TEST_IMAGE:-proxytainer-test:latest}
docker rm -f "$NAME" >/dev/null 2>&1 || true
cleanup() {
  [ -n "${proxy_pid:-}" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  rm -f "${proxy_log:-}"
}
trap cleanup EXIT

say "Creating a web server container, stopped, labelled proxytainer.group=demo"
docker create --name "$NAME" --network host --init \
  --label proxytainer.group=demo \
  --health-cmd "wget -q -O /dev/null http://127.0.0.1:$UPSTREAM/" --health-interval 1s \
  "$IMAGE" \
  sh -c "echo 'Hello from a container that proxytainer woke up.' >/tmp/index.html && exec httpd -f -p 127.0.0.1:$UPSTREAM -h /tmp" >/dev/null
echo "container state: $(docker inspect -f '{{.State.Status}}' "$NAME")"

say "Starting proxytainer: port $PORT -> 127.0.0.1:$UPSTREAM, group demo, idle 5s"
proxy_log=$(mktemp)
bin/proxytainer --port "$PORT" --host "127.0.0.1:$UPSTREAM" --group demo --idle 5 2> >(tee "$proxy_log" >&2) &
proxy_pid=$!
# Waits for its "listening on" line (a test connection would wake the group).
for _ in $(seq 1 150); do
  grep -q 'listening on' "$proxy_log" && break
  kill -0 "$proxy_pid" 2>/dev/null || { echo "proxytainer exited" >&2; exit 1; }
  sleep 0.1
done
grep -q 'listening on' "$proxy_log" || { echo "proxytainer did not listen within 15s" >&2; exit 1; }

say "Requesting http://127.0.0.1:$PORT/ while the container sleeps"
start=$(date +%s%N)
busybox wget -q -O - "http://127.0.0.1:$PORT/"
echo "answered in $(( ($(date +%s%N) - start) / 1000000 )) ms (docker start + healthcheck included); container state: $(docker inspect -f '{{.State.Status}} ({{.State.Health.Status}})' "$NAME")"

say "Requesting again while it is awake"
start=$(date +%s%N)
busybox wget -q -O - "http://127.0.0.1:$PORT/"
echo "answered in $(( ($(date +%s%N) - start) / 1000000 )) ms"

say "Waiting for the idle period (5s) to pass"
for _ in $(seq 1 30); do
  [ "$(docker inspect -f '{{.State.Status}}' "$NAME")" = exited ] && break
  sleep 0.5
done
echo "container state: $(docker inspect -f '{{.State.Status}}' "$NAME")"

say "Done: the container was woken by a connection and put back to sleep when idle"
