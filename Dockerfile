# relay365 container image: build with the full toolchain, run on a slim Node 20.
# docker build -t relay365 .
# docker run -v relay365-data:/data -p 25:2525 -p 587:2525 -p 465:4465 -p 127.0.0.1:8025:8025 \
#   -e RELAY365_RELAY_NETWORKS=192.168.10.0/24 relay365
# SMTP listens on the network; who may relay is decided by RELAY365_RELAY_NETWORKS, network rules
# and relay users (by default only the container itself). Publish the panel to the host's loopback.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY bin ./bin
# `npm ci` runs the prepare script, which compiles src/ to dist/.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    RELAY365_DATA_DIR=/data \
    RELAY365_SMTP_LISTEN=0.0.0.0:2525 \
    RELAY365_SMTPS_LISTEN=0.0.0.0:4465 \
    RELAY365_ADMIN_LISTEN=0.0.0.0:8025
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 2525 4465 8025
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["start"]
