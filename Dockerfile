# One ringkv node. Build: docker build -t ringkv .
# Run:   docker run -p 6379:6379 -p 16379:16379 -v ringkv-data:/data ringkv [ringkv start flags]
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
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
VOLUME /data
EXPOSE 6379 16379
ENTRYPOINT ["node", "bin/ringkv.js", "start", "--bind", "0.0.0.0", "--data", "/data"]
