# syntax=docker/dockerfile:1
# warden: gRPC, gRPC-Web, Connect and REST on one port (8080).
#   docker build -t warden .
#   docker run -p 8080:8080 -e JWT_PRIVATE_KEY="$(cat key.pem)" -e DATABASE_URL=sqlite:/data/warden.sqlite -v warden-data:/data warden
# The admin command (roles; the first admin) is in the image too, run with the service's environment:
#   docker exec <container> node dist/src/cli/admin.js grant-role alice@example.com admin
#   docker run --rm --env-file warden.env -v warden-data:/data warden node dist/src/cli/admin.js list-roles alice
# scripts/check-container-steps.sh runs these same steps without Docker (CI has no engine).

# --- build: all dependencies, TypeScript → dist/ ---------------------------
FROM node:22-slim AS build
WORKDIR /app
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gen ./gen
COPY src ./src
RUN npm run build

# --- production dependencies only ------------------------------------------
FROM node:22-slim AS deps
WORKDIR /app
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ----------------------------------------------------------------
FROM node:22-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The image's own "node" user (uid 1000) owns only the data folder.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
VOLUME ["/data"]
STOPSIGNAL SIGTERM
# As in `npm start`: a smaller young generation and a 128 MB old generation
# keep the service at ~140 MiB resident under token-check load, ~200 MiB while
# the password-strength thread is loaded (bench/RESULTS.md); the live heap is
# ~45 MB. Raise --max-old-space-size with NODE_OPTIONS if needed.
# --stack-trace-limit=0: no log line, answer or span ever carries a stack, yet
# V8 would capture one for every error made, and Connect makes one per
# HTTP/1.1 call (the AbortError ending the call's signal): a few % of the CPU
# of a GetCurrentUser (bench/RESULTS.md). Set it higher here to debug.
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=128 --stack-trace-limit=0"
# node itself is PID 1 (no npm, no shell), so SIGTERM reaches the service and
# it drains in-flight calls before exiting. --experimental-async-context-frame
# (the default from Node 24; Node 22 refuses it in NODE_OPTIONS, hence here):
# AsyncLocalStorage without a promise hook on every promise, ~17% less CPU per
# GetCurrentUser (bench/RESULTS.md).
CMD ["node", "--experimental-async-context-frame", "dist/src/main.js"]
