# One ringkv node. Build: docker build -t ringkv .
# Run:   docker run -p 6379:6379 -p 16379:16379 -v ringkv-data:/data ringkv [ringkv start flags]
# The node listens on 0.0.0.0 and advertises the container's address unless
# RINGKV_ADVERTISE_HOST (or --advertise-host) names another (docker/entrypoint.sh).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Dependencies in their own layer, rebuilt only when the lock file changes.
# npm ci runs the package's prepare script, which skips the build while
# tsconfig.json is not here yet; the build runs below, once the sources are.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY test ./test
COPY benchmarks ./benchmarks
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist/src ./dist/src
COPY docker/entrypoint.sh ./docker/
VOLUME /data
EXPOSE 6379 16379
# Through sh, so the script runs whether or not the checkout kept its execute bit; it execs node, which gets the signals.
ENTRYPOINT ["/bin/sh", "/app/docker/entrypoint.sh"]
