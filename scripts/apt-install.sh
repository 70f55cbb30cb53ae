#!/usr/bin/env bash
# Installs Debian packages without starting any service they bring
# (postgresql, redis-server, prometheus, iperf3, haproxy…): the tests and the
# bench run their own instances. policy-rc.d answers "action forbidden" (101)
# to the maintainer scripts while apt runs, and is removed afterwards unless
# it was already there. Exits with apt-get's status.
#
#   bash scripts/apt-install.sh PACKAGE...
set -uo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

as_root apt-get update -qq || printf 'apt-install: apt-get update failed; trying the install with the lists there are\n' >&2
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
  as_root chmod +x "$policy"
  added_policy=1
fi
status=0
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null || status=$?
[ "$added_policy" = 1 ] && as_root rm -f "$policy"
exit "$status"
