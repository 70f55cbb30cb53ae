#!/usr/bin/env bash
# Builds the image the integration tests run, without any registry: a root
# filesystem holding Debian's static busybox (sh, nc, wget, test) and the
# node binary the project runs on, with its libraries, fed to `docker import`.
# Rebuilds only when an input changed.
set -euo pipefail
cd "$(dirname "$0")/.."

image=${PROXYTAINER_TEST_IMAGE:-proxytainer-test:latest}
# The node the project runs on (scripts/node.sh: Node.js 24 in .node/ where the machine's is older).
node_bin=$(readlink -f "$(sh scripts/node.sh)")
inputs=(/bin/busybox "$node_bin" test/fixtures/server.mjs scripts/build-test-images.sh)
hash=$(cat "${inputs[@]}" | sha256sum | cut -c1-16)

current=$(docker image inspect "$image" --format '{{index .Config.Labels "org.proxytainer.inputs"}}' 2>/dev/null || true)
if [ "$current" = "$hash" ]; then
  echo "images: $image is up to date ($hash)" >&2
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/bin "$root"/usr/bin "$root"/srv "$root"/tmp "$root"/etc
chmod 1777 "$root"/tmp
cp /bin/busybox "$root"/bin/busybox
for applet in sh cat echo ls nc sleep test touch wget httpd kill ps readlink dirname env; do ln -s busybox "$root/bin/$applet"; done
cp "$node_bin" "$root"/usr/bin/node
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp test/fixtures/server.mjs "$root"/srv/server.mjs
echo 'root:x:0:0:root:/root:/bin/sh' >"$root"/etc/passwd
echo 'hosts: files dns' >"$root"/etc/nsswitch.conf

tar -C "$root" -c . | docker import \
  --change 'CMD ["/bin/sh"]' \
  --change "LABEL org.proxytainer.inputs=$hash" \
  - "$image" >/dev/null
echo "images: built $image ($hash, $(docker image inspect "$image" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))" >&2
