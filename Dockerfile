# relay365 container image.
#   docker build -t relay365 .
#   docker run -v relay365-data:/data -p 25:2525 -p 587:2525 -p 465:4465 -p 127.0.0.1:8025:8025 \
#     -e RELAY365_RELAY_NETWORKS=192.168.10.0/24 relay365
# SMTP listens on the network; who may relay is decided by RELAY365_RELAY_NETWORKS, network rules
# and relay users (by default only the container itself). Publish the panel to the host's loopback.
# compose.yaml beside this file is a complete example.
#
# Three stages: `build` compiles the TypeScript, `deps` installs the production dependencies
# (compiling better-sqlite3 when no prebuilt binary fits), and the final image gets only their
# results: no compiler, no dev dependencies, no npm cache, no native build leftovers.
# package.json and package-lock.json are copied before the source, so a change to src/ reuses
# the dependency layers.
#
# The base of all three stages: Node 24, the newest long-term support line that every dependency
# supports (better-sqlite3 12 builds for Node 20 to 25; Node 20 reached its end of life on
# 2026-04-30). An exact release, so that a rebuild gets the same Node; move it up for each Node
# security release (or pass `--build-arg NODE_IMAGE=…`). No digest is pinned, as none could be
# looked up when this line was written: to pin the exact bytes as well, append the one that
# `docker buildx imagetools inspect node:24.22.3-bookworm-slim` prints (`…-bookworm-slim@sha256:…`).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc before src/ is here, and tsc needs no native module.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Production dependencies only; better-sqlite3's install script (a prebuilt binary, or node-gyp)
# is the one script they need. Then keep only the compiled module: node-gyp's objects, the
# SQLite sources and the addon's C++ sources are about 25 MB the relay never reads.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && cd node_modules/better-sqlite3 \
 && find build -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} + \
 && find build/Release -mindepth 1 ! -name better_sqlite3.node -exec rm -rf {} + \
 && rm -rf deps src binding.gyp \
 && npm cache clean --force

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production \
    RELAY365_DATA_DIR=/data \
    RELAY365_SMTP_LISTEN=0.0.0.0:2525 \
    RELAY365_SMTPS_LISTEN=0.0.0.0:4465 \
    RELAY365_SMTP_PUBLIC_PORTS=587,25 \
    RELAY365_SMTPS_PUBLIC_PORTS=465 \
    RELAY365_ADMIN_LISTEN=0.0.0.0:8025
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
# The application stays root-owned and read-only to the relay; only /data is its own.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
VOLUME ["/data"]
EXPOSE 2525 4465 8025
# relay365 drains on SIGTERM (RELAY365_SHUTDOWN_TIMEOUT, 30 s): give `docker stop -t` / compose's
# stop_grace_period more than that.
STOPSIGNAL SIGTERM
# Ready means: the database takes writes, the SMTP listener accepts, the data folder has space.
# Node itself asks (slim images have no curl) at RELAY365_ADMIN_LISTEN as the container runs with
# it: its host, or 127.0.0.1 when it listens on every address (0.0.0.0, ::).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "\
const listen = process.env.RELAY365_ADMIN_LISTEN || '0.0.0.0:8025'; \
const cut = listen.lastIndexOf(':'); \
const host = listen.slice(0, cut).replace('[', '').replace(']', ''); \
const every = host === '0.0.0.0' || host.split(':').every((part) => /^0*$/.test(part)); \
const name = every ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host; \
fetch(`http://${name}:${listen.slice(cut + 1)}/readyz`, { signal: AbortSignal.timeout(4000) }) \
  .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"]
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["start"]
