# syntax=docker/dockerfile:1.7
# PhotoEnhance API image. Build from the repository root:
#   docker build -f infra/docker/api.Dockerfile -t photoenhance/api .
# The API never runs models: no GPU, no model files and no ML runtime (its workspace does not depend on
# onnxruntime-node or the models package).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- dependencies: production packages of the API workspace and the workspaces it imports ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# npm ci checks package.json files against the lockfile, so every workspace's manifest must be present;
# --workspace then installs only what the API needs (no CDK, no test tools, no root devDependencies).
COPY package.json package-lock.json .npmrc ./
COPY scripts/check-node.mjs scripts/
COPY models/package.json models/
COPY packages/contracts/package.json packages/contracts/
COPY packages/image/package.json packages/image/
COPY packages/video/package.json packages/video/
COPY packages/engine/package.json packages/engine/
COPY packages/core/package.json packages/core/
COPY packages/cli/package.json packages/cli/
COPY services/api/package.json services/api/
COPY services/gpu-worker/package.json services/gpu-worker/
COPY test/package.json test/
COPY infra/package.json infra/
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --workspace @photoenhance/api --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8000 \
    HOST=0.0.0.0
WORKDIR /app
# Dependencies (with the workspace links under node_modules/@photoenhance) first, sources after: code changes
# do not invalidate the dependency layer. Node 24 runs the TypeScript sources directly (type stripping).
COPY --from=deps /app /app
# Whole workspace folders (tests, caches and node_modules are left out by .dockerignore), so files beside the
# sources (model manifest, static assets) come along.
COPY packages/contracts/ packages/contracts/
COPY packages/image/ packages/image/
COPY packages/video/ packages/video/
COPY packages/core/ packages/core/
COPY services/api/ services/api/
# The base image's unprivileged user; the API writes nothing to disk.
USER node
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "services/api/src/server.ts"]
