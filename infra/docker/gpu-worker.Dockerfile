# syntax=docker/dockerfile:1.7
# PhotoEnhance GPU worker image: Node 24 on NVIDIA's CUDA 12 + cuDNN 9 runtime, onnxruntime-node with its CUDA
# execution provider, and the offline models prepared at build time. Build from the repository root:
#   docker build -f infra/docker/gpu-worker.Dockerfile -t photoenhance/gpu-worker .
# Run with a GPU: docker run --gpus all … (needs the NVIDIA Container Toolkit). Without one, set
# EXECUTION_PROVIDERS=cpu.
ARG NODE_IMAGE=node:24-bookworm-slim
# onnxruntime-node 1.30's CUDA provider is built for CUDA 12.x with cuDNN 9 (any 12.x runtime works).
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

# ---- build: dependencies, CUDA provider files, models ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# npm ci checks every workspace manifest against the lockfile; --workspace installs only the worker's tree.
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
    npm ci --omit=dev --workspace @photoenhance/gpu-worker --no-audit --no-fund \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32
# The CUDA provider libraries are not in the npm tarball (too large); onnxruntime-node's install script fetches
# them from NuGet. package.json's allowScripts denies that script during npm ci (offline CPU installs);
# `npm run cuda` runs it on purpose with the CUDA 12 manifest.
RUN npm run cuda \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so
# Whole workspace folders (tests, caches and node_modules are left out by .dockerignore), so files beside the
# sources (model manifest, static assets) come along.
COPY models/ models/
COPY packages/contracts/ packages/contracts/
COPY packages/image/ packages/image/
COPY packages/video/ packages/video/
COPY packages/engine/ packages/engine/
COPY packages/core/ packages/core/
COPY services/gpu-worker/ services/gpu-worker/
# Real-ESRGAN (converted from ncnn, fp32 + fp16) and BlazeFace, so a worker starts without network access.
# Face restorers cannot be bundled: download them into the models volume (README, "Models").
ENV PHOTOENHANCE_MODEL_DIR=/opt/photoenhance-models
RUN npm run models

# ---- runtime ----
FROM ${CUDA_IMAGE} AS runtime
# Node 24 and npm from the official image (npm: preparing a missing model on first start uses `npm pack`).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --system --gid 10001 photoenhance \
 && useradd --system --uid 10001 --gid photoenhance --home-dir /home/photoenhance --create-home photoenhance
ENV NODE_ENV=production \
    EXECUTION_PROVIDERS=cuda,cpu \
    WORKER_PORT=8001 \
    PHOTOENHANCE_MODEL_DIR=/app/models/.cache \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
WORKDIR /app
COPY --from=build /app /app
# The model cache is the one writable place (restorer downloads, first-start preparation); a named volume
# mounted here is seeded from these files.
COPY --from=build --chown=photoenhance:photoenhance /opt/photoenhance-models /app/models/.cache
USER photoenhance
EXPOSE 8001
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=4 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WORKER_PORT || 8001) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "services/gpu-worker/src/main.ts"]
