# Secure email relay: one image for every service.
#
#   docker build -t secure-email-relay:dev .
#   docker run --init secure-email-relay:dev                                  # all-in-one (SER_SERVICES=all)
#   docker run --init secure-email-relay:dev dist/services/scanner/src/main.js  # one service
#
# ENTRYPOINT is `node`, so the command is the entry script: dist/services/<name>/src/main.js for
# ingress, scanner, signer, egress, reporting, admin; dist/services/relay/src/main.js runs the
# services named by SER_SERVICES in one process. Configuration: docs/configuration.md.
#
# PID 1: the process handles SIGTERM/SIGINT itself (graceful drain), but run it with an init
# (`docker run --init`, compose `init: true`, which the stack sets) so signals are forwarded and
# zombies reaped.
# Ports 587/465 as a non-root user: Docker (20.10+) sets net.ipv4.ip_unprivileged_port_start=0 in a
# container's network namespace; on Kubernetes set that sysctl or listen on >1024 ports
# (SER_INGRESS_SUBMISSION_PORT / SER_INGRESS_SUBMISSIONS_PORT) behind a Service.
# No HEALTHCHECK here: workers have no HTTP endpoint; the admin service's /readyz check is defined
# by the orchestrator (docker-compose.yml).
# Builds with the classic builder too (docker-compose v1): no BuildKit-only syntax.

FROM node:24-bookworm-slim AS base
WORKDIR /app
# The TypeScript build needs no install scripts (--ignore-scripts). The production dependencies do:
# spamscanner's native addons (iconv, node-snowball, re2, listed in package.json's allowScripts)
# are compiled in the deps stage, which has the compilers; the runtime stage copies the result.
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# ---- build: all dependencies, compile TypeScript to dist/ ----
FROM base AS build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.base.json tsconfig.build.json ./
COPY libs ./libs
COPY services ./services
RUN npm run build

# ---- deps: production dependencies only ----
FROM base AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# ---- runtime ----
FROM base AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="secure-email-relay" \
      org.opencontainers.image.description="Multi-tenant secure email relay: authenticated submission, AV/AS scanning, DKIM signing, MX delivery with retries, reports." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"
ENV NODE_ENV=production
# Code and dependencies stay root-owned (read-only for the service user); only the data
# directory (SER_DATA_DIR, default .data relative to /app) is writable.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 587 465 8080
ENTRYPOINT ["node"]
CMD ["dist/services/relay/src/main.js"]
