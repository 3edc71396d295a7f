# relay365 container image: build with the full toolchain, run on a slim Node 20.
# docker build -t relay365 .
# docker run -v relay365-data:/data -p 127.0.0.1:2525:2525 -p 127.0.0.1:8025:8025 relay365

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
    RELAY365_ADMIN_LISTEN=0.0.0.0:8025
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 2525 8025
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["start"]
