# proxytainer as an image, for a compose sidecar or a plain `docker run`.
#
#   docker build -t proxytainer .
#   docker run -d -p 5000:5001 -v /var/run/docker.sock:/var/run/docker.sock:ro \
#     proxytainer --port 5001 --host app:5000 --group mygroup --idle 600
#
# The arguments are proxytainer's own (the entrypoint is the CLI), so the
# original tool's `command: --port 5001 --host localhost:5000 --group mygroup
# --idle 600` works unchanged.
#
# NODE_IMAGE is any Node.js image with npm on a release line the project
# supports (package.json "engines"); every stage uses it. The default is the
# official slim Debian image of the Active LTS line (Node.js 26, supported until
# April 2029). Another tag (node:24-trixie-slim, Maintenance LTS until April
# 2028; node:26-alpine, smaller) or a mirror of the official image may be given:
#   docker build --build-arg NODE_IMAGE=node:24-trixie-slim -t proxytainer .
ARG NODE_IMAGE=node:26-trixie-slim

# --- build: compile the TypeScript ------------------------------------------
FROM ${NODE_IMAGE} AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: nothing the compiler needs has an install script, and the
# optional native addons of ssh2 (cpu-features, its crypto binding) would need
# a compiler this image does not have; ssh2 works without them.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
# npm's scripts run through scripts/node.sh, which here finds the image's own node.
COPY scripts/node.sh ./scripts/
COPY src ./src
RUN npm run build

# --- deps: production dependencies only --------------------------------------
FROM ${NODE_IMAGE} AS deps
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

# --- the image -----------------------------------------------------------------
FROM ${NODE_IMAGE}
ARG NODE_IMAGE
LABEL org.opencontainers.image.title="proxytainer" \
      org.opencontainers.image.description="A transparent TCP proxy that wakes Docker containers on demand and puts them to sleep when idle" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
WORKDIR /app
ENV NODE_ENV=production \
    PATH=/app/bin:$PATH
COPY --from=deps /app/node_modules ./node_modules
# plugin-metadata.json* copies the file where the project has one and nothing where it has not.
COPY package.json plugin-metadata.json* ./
COPY bin ./bin
COPY --from=build /src/dist ./dist
# Runs as root, like the original tool: the Docker socket is usually root:docker
# with mode 660, and the docker group's id differs from host to host. Whoever
# reaches the socket controls the host anyway; to run unprivileged all the same:
#   docker run --user 1000:1000 --group-add "$(stat -c %g /var/run/docker.sock)" ...
# (compose: `user: "1000:1000"` and `group_add: ["<gid of the socket>"]`).
# proxytainer handles SIGTERM itself (closes held connections, lets open ones
# finish for --shutdown-grace, exits 0) and starts no child processes, so it
# runs as PID 1 without an init. No HEALTHCHECK: the port to probe is one of
# the arguments, and a proxy that cannot listen exits (status 1) on its own.
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/dist/cli/entry.js"]
