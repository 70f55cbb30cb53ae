#!/usr/bin/env bash
# Builds a stand-in for the public Node.js base image (the Dockerfile's NODE_IMAGE)
# without any registry, for machines that reach no container registry:
#
#   bash scripts/build-node-base-image.sh        # prints the image name on stdout
#   docker build --build-arg NODE_IMAGE=proxytainer-node-base:local -t proxytainer .
#
# It lays out what the Dockerfile's stages use, where the official node images
# keep it: the node binary the project runs on (scripts/node.sh: this machine's
# when it is 22.12 or later, else the Node.js 24 in .node/) and the shared
# libraries it links (/usr/local/bin/node), this machine's npm
# (/usr/local/lib/node_modules/npm), Debian's static busybox for /bin/sh and
# the usual commands, a user `node` (uid 1000),
# and this machine's CA bundle, which npm is told to trust (so a build reaches
# the npm registry through whatever TLS-inspecting proxy this machine trusts).
# The root filesystem is fed to `docker import`. Rebuilds only when an input
# changed (the hash is kept in a label).
#
# Environment: PROXYTAINER_NODE_BASE_IMAGE (image name, default
# proxytainer-node-base:local), NODE_BIN (another node binary, e.g. an official
# build of another release line), NPM_DIR (another npm package directory).
set -euo pipefail
cd "$(dirname "$0")/.."

image=${PROXYTAINER_NODE_BASE_IMAGE:-proxytainer-node-base:local}
log() { printf 'node-base: %s\n' "$*" >&2; }

node_bin=$(readlink -f "${NODE_BIN:-$(sh scripts/node.sh)}")
if [ -n "${NPM_DIR:-}" ]; then
  npm_dir=$(readlink -f "$NPM_DIR")
else
  # .../lib/node_modules/npm/bin/npm-cli.js -> .../lib/node_modules/npm
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
fi
[ -f "$npm_dir/package.json" ] || { log "no npm package at $npm_dir (set NPM_DIR)"; exit 1; }
[ -x /bin/busybox ] || { log "/bin/busybox is missing: apt-get install busybox-static"; exit 1; }
ca_bundle=/etc/ssl/certs/ca-certificates.crt
libs=$(ldd "$node_bin" | grep -o '/[^ ]*' | sort -u)

inputs=(/bin/busybox "$node_bin" $libs "$npm_dir/package.json" scripts/build-node-base-image.sh)
[ -f "$ca_bundle" ] && inputs+=("$ca_bundle")
hash=$(cat "${inputs[@]}" | sha256sum | cut -c1-16)

previous=$(docker image inspect "$image" --format '{{.Id}}' 2>/dev/null || true)
current=$(docker image inspect "$image" --format '{{index .Config.Labels "org.proxytainer.node-base"}}' 2>/dev/null || true)
if [ "$current" = "$hash" ]; then
  log "$image is up to date ($hash)"
  echo "$image"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/local/lib/node_modules,usr/local/etc,etc/ssl/certs,tmp,root,home/node,var/tmp}
chmod 1777 "$root"/tmp "$root"/var/tmp
chmod 700 "$root"/root

# busybox: /bin/sh for RUN steps and npm scripts, /usr/bin/env for bin/proxytainer's shebang, and the rest for debugging.
cp /bin/busybox "$root"/bin/busybox
for applet in $(/bin/busybox --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

cp "$node_bin" "$root"/usr/local/bin/node
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -a "$npm_dir" "$root"/usr/local/lib/node_modules/npm
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root"/usr/local/bin/npm
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root"/usr/local/bin/npx

if [ -f "$ca_bundle" ]; then
  cp "$ca_bundle" "$root$ca_bundle"
  # npm's global config lives at <prefix>/etc/npmrc, the prefix being /usr/local for /usr/local/bin/node.
  echo "cafile=$ca_bundle" >"$root"/usr/local/etc/npmrc
fi

cat >"$root"/etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root"/etc/group <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
echo 'hosts: files dns' >"$root"/etc/nsswitch.conf

node_version=$("$node_bin" --version)
tar -C "$root" --numeric-owner --owner=0 --group=0 -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'CMD ["node"]' \
  --change "LABEL org.proxytainer.node-base=$hash" \
  --change "LABEL org.opencontainers.image.description=\"stand-in for the node image, built from this machine's node $node_version\"" \
  - "$image" >/dev/null
# The image this one replaced goes, unless images built on it still need it.
[ -n "$previous" ] && docker rmi "$previous" >/dev/null 2>&1 || true
log "built $image (node $node_version, npm $(sed -n 's/^ *"version": "\(.*\)",$/\1/p' "$npm_dir/package.json" | head -n 1), $hash, $(docker image inspect "$image" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$image"
