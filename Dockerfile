# syntax=docker/dockerfile:1
# One image for the worker, the consent callback server and the codec server (docker-compose.yml picks the command).
# glibc base on purpose: the Temporal SDK's native core-bridge has no musl build, so Alpine does not work.
#
# Two stages: `build` compiles the product folders to dist/ and builds the workflow bundles (`npm run build`, with
# the dev dependencies: TypeScript, tsx); the runtime stage holds production dependencies, dist/ and bin/ only — no
# TypeScript sources, no test/, bench/ or scripts/, no tsx.

FROM node:20.20-bookworm-slim AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app
# patches/: our fix to @temporalio/worker, applied by the postinstall script (patch-package).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY workflows ./workflows
COPY activities ./activities
COPY common ./common
COPY worker ./worker
COPY client ./client
COPY emulator ./emulator
COPY scripts/build-bundle.ts ./scripts/
RUN npm run build

FROM node:20.20-bookworm-slim
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app

# Dependencies first (cached while package*.json are unchanged).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev && npm cache clean --force

# Code stays root-owned (read-only for the service user); only ./data is writable (directory evidence store,
# embedded dev server database when TEMPORAL_ADDRESS is unset).
COPY --from=build /app/dist ./dist
COPY bin ./bin
RUN mkdir -p /app/data && chown node:node /app/data

# Production runs a pre-built workflow bundle (built above by the same @temporalio/worker version that runs it).
# docker-compose always sets PAYLOAD_CODEC_KEYS, so it is the bundle that encrypts failure messages too; a worker run
# from this image without keys sets WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js.
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle-encrypted-failures.js

USER node

# Worker metrics (METRICS_PORT in docker-compose.yml).
EXPOSE 9464

CMD ["node", "dist/worker/main.js"]
