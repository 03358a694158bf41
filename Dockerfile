# Capsule worker image: runs worker.ts (configured by TEMPORAL_* / CAPSULE_* environment variables).
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production
# Caches (sandbox runtime, workflow bundle) live in the image, writable by the unprivileged user.
ENV CAPSULE_CACHE_DIR=/app/.cache

# Python 3 with venv: the Python sandbox runtime is built with componentize-py, installed from PyPI by setup.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/*

COPY package.json package-lock.json ./
# Install scripts stay off; the sandbox runtime is built explicitly below, once, into the image.
RUN npm ci --omit=dev --ignore-scripts

COPY bin ./bin
COPY src ./src
COPY worker.ts tsconfig.json ./

# Build the sandbox runtimes (instrumented Wasm, JavaScript and Python) at image build time, not on the first task.
RUN node bin/capsule.js setup && chown -R node:node /app/.cache

USER node
# Run node directly (not through npm) so SIGTERM reaches the worker, which then shuts down gracefully.
CMD ["node", "--import", "tsx", "worker.ts"]
