# syntax=docker/dockerfile:1
# One image for the worker, the consent callback server and the codec server (docker-compose.yml picks the command).
# glibc base on purpose: the Temporal SDK's native core-bridge has no musl build, so Alpine does not work.
FROM node:20.20-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# Dependencies first (cached while package*.json are unchanged). tsx is a runtime dependency: the services run
# the TypeScript sources directly, and the worker bundles the workflow code at startup.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# Sources stay root-owned (read-only for the service user); only ./data is writable (directory evidence store,
# embedded dev server database when TEMPORAL_ADDRESS is unset).
COPY . .
# Production runs a pre-built workflow bundle (same @temporalio/worker version bundles and runs it). docker-compose
# always sets PAYLOAD_CODEC_KEYS, so failure messages are encrypted inside the bundle too.
RUN npm run build:bundle -- --encrypted-failures && mkdir -p /app/data && chown node:node /app/data
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js

USER node

# Worker metrics (METRICS_PORT in docker-compose.yml).
EXPOSE 9464

CMD ["npx", "tsx", "worker/main.ts"]
