# syntax=docker/dockerfile:1
# lowband broker image. Build with the host's CA bundle when npm must trust a private CA:
#   podman build --format docker --secret id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt -t lowband .
#   docker build --secret id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt -t lowband .
# (--format docker keeps the HEALTHCHECK under podman, whose default OCI format has no such field.)

ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim

# Build stage: every dependency, then the TypeScript build.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The CA secret is optional: without it npm trusts Node's own CA list. It is mounted for this step
# only, so it stays out of every layer.
RUN --mount=type=secret,id=npm-ca,target=/run/secrets/npm-ca \
    --mount=type=cache,target=/root/.npm,sharing=locked \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi; \
    npm ci --prefer-offline --no-audit --no-fund
# The sources (.dockerignore leaves out tests, benchmarks, docs and local state).
COPY . .
RUN npm run build

# Final stage: the same base, production dependencies only. The native modules (classic-level,
# cbor-extract) install here from their prebuilt binaries, so they match this stage's libc and Node;
# package.json's allowScripts lets npm 11 run their install scripts.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    LOWBAND_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm-ca,target=/run/secrets/npm-ca \
    --mount=type=cache,target=/root/.npm,sharing=locked \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi; \
    npm ci --omit=dev --prefer-offline --no-audit --no-fund \
    && mkdir /data && chown node:node /data
COPY --from=build /app/dist dist
RUN chmod +x dist/bin/lowband.js && ln -s /app/dist/bin/lowband.js /usr/local/bin/lowband

# The official image's non-root user (uid 1000). /data holds the embedded store and the
# development secret; a named volume there keeps both across containers.
USER node
VOLUME /data
# MQTT over TCP, MQTT over WebSocket (/mqtt), MQTT over TLS (with --tls-cert/--tls-key), HTTP.
EXPOSE 1883 8080 8883 9090
# No curl in the slim image: Node asks /healthz itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.LOWBAND_HTTP_PORT || 9090) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 (exec form, no shell between): `start` handles SIGTERM and SIGINT itself, drains
# in-flight stores and exits 0, and the broker starts no child processes that would need reaping.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/bin/lowband.js"]
CMD ["start", "--data-dir", "/data"]
