#!/usr/bin/env bash
# Makes sure the real servers some tests and the bench put behind proxytainer
# are on this machine: Debian's PostgreSQL (server, psql, pgbench), Redis
# (redis-server, redis-cli, redis-benchmark) and dnsmasq with dig (DNS over UDP). They run inside containers from
# the host's own binaries (scripts/build-server-image.sh), so the packages are
# only installed: their system services are never started, and a cluster the
# postgresql package creates stays stopped.
# Does nothing when everything is there; a failed install is reported, not fatal.
set -euo pipefail

log() { printf 'server-packages: %s\n' "$*" >&2; }

missing=()
# postgresql-common's wrappers in /usr/bin are not enough: the tests run the versioned binaries.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
command -v psql >/dev/null 2>&1 && command -v pgbench >/dev/null 2>&1 || missing+=(postgresql-client)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
# The UDP tests' DNS server and client (dnsmasq-base is the program alone, without a service).
[ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
command -v dig >/dev/null 2>&1 || missing+=(bind9-dnsutils)
[ ${#missing[@]} -eq 0 ] && exit 0

log "installing ${missing[*]}"
status=0
bash "$(dirname "$0")/apt-install.sh" "${missing[@]}" || status=$?
# Not fatal for the rest of the set-up: the tests that need these say what is missing and how to get it.
[ "$status" = 0 ] || { log "apt-get install failed ($status); tests with real servers will fail until it works"; exit 0; }
log "installed $(dpkg-query -W -f '${Package} ${Version}, ' "${missing[@]}" 2>/dev/null | sed 's/, $//')"
