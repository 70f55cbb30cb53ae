#!/usr/bin/env bash
# Builds the image the real-server members (PostgreSQL, Redis) run from,
# without any registry. It holds no programs: the containers mount the host's
# /usr read-only and run Debian's own binaries from it (scripts/server-packages.sh
# installs them), so the image is only a root filesystem's skeleton: /bin,
# /sbin, /lib and /lib64 as the host has them (links into /usr on a merged-/usr
# system, else empty directories the containers mount the host's over), a
# world-writable /tmp and /data for the servers' files, and an nsswitch.conf.
# test/support/real-servers.ts adds the mounts and the user.
# Rebuilds only when an input changed (the hash is kept in a label).
#
#   bash scripts/build-server-image.sh     # prints the image name on stdout
set -euo pipefail
cd "$(dirname "$0")/.."

image=${PROXYTAINER_SERVER_IMAGE:-proxytainer-servers:latest}
log() { printf 'server-image: %s\n' "$*" >&2; }

# How the host lays out its top-level program directories: `bin->usr/bin` or `bin/`.
layout=$(for dir in bin sbin lib lib64; do
  if [ -L "/$dir" ]; then echo "$dir->$(readlink "/$dir")"; elif [ -d "/$dir" ]; then echo "$dir/"; fi
done)
hash=$( { cat scripts/build-server-image.sh; echo "$layout"; } | sha256sum | cut -c1-16)

current=$(docker image inspect "$image" --format '{{index .Config.Labels "org.proxytainer.inputs"}}' 2>/dev/null || true)
if [ "$current" = "$hash" ]; then
  log "$image is up to date ($hash)"
  echo "$image"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/usr "$root"/etc "$root"/tmp "$root"/data "$root"/run
chmod 1777 "$root"/tmp "$root"/data
while read -r entry; do
  case "$entry" in
    *'->'*) ln -s "${entry#*->}" "$root/${entry%%->*}" ;;
    */) mkdir -p "$root/${entry%/}" ;;
  esac
done <<<"$layout"
# Mount points for the host's user and group lists (names for the numeric --user).
touch "$root"/etc/passwd "$root"/etc/group
echo 'hosts: files dns' >"$root"/etc/nsswitch.conf

tar -C "$root" --numeric-owner --owner=0 --group=0 -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL org.proxytainer.inputs=$hash" \
  --change 'LABEL org.opencontainers.image.description="runs the host'"'"'s own binaries from a read-only /usr"' \
  - "$image" >/dev/null
log "built $image ($hash)"
echo "$image"
