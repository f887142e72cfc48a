#!/usr/bin/env bash
# Runs the Dockerfile's steps without a Docker engine, in throw-away copies of
# the repository, and checks that the production image would start:
#   build stage:   npm ci && npm run build            (all dependencies)
#   runtime stage: npm ci --omit=dev + dist/, then    node --experimental-async-context-frame dist/src/main.js
# with NODE_ENV=production, a generated signing key, a generated MFA encryption key and a SQLite DATABASE_URL:
# /health, /openapi.json and /docs must answer, and SIGTERM must end it with 0.
#
# Node 22 (as in node:22-slim) is the binary of the "node" devDependency of
# this checkout: the machine's own `node` may be older.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node22=$(readlink -f "$root/node_modules/node/bin/node")
[ -x "$node22" ] || { echo "check-container-steps: no Node 22 at $root/node_modules/node (run npm ci first)" >&2; exit 1; }
export PATH="$(dirname "$node22"):$PATH" SCARF_ANALYTICS=false
start=$SECONDS

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The build context as `docker build` sees it: what the Dockerfile copies
# (package*.json, tsconfig*.json, gen/, src/), git-ignored files left out.
mkdir -p "$work/build" "$work/runtime" "$work/data"
cd "$root"
while IFS= read -r -d '' f; do
  [ -e "$f" ] && cp --parents "$f" "$work/build/"
done < <(git ls-files -z --cached --others --exclude-standard -- package.json package-lock.json 'tsconfig*.json' gen src)

echo "== build stage: npm ci && npm run build"
(cd "$work/build" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error && npm run build --silent)

echo "== runtime stage: npm ci --omit=dev, dist/"
cp "$work/build/package.json" "$work/build/package-lock.json" "$work/runtime/"
(cd "$work/runtime" && npm ci --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error)
cp -r "$work/build/dist" "$work/runtime/dist"
if [ -e "$work/runtime/node_modules/typescript" ] || [ -e "$work/runtime/node_modules/vitest" ]; then
  echo "check-container-steps: dev dependencies leaked into the production install" >&2; exit 1
fi

echo "== start: node --experimental-async-context-frame dist/src/main.js (NODE_ENV=production)"
key=$("$node22" -e 'process.stdout.write(require("crypto").generateKeyPairSync("ed25519").privateKey.export({type:"pkcs8",format:"pem"}))')
mfa_key="ci:$("$node22" -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64"))')"
log="$work/server.log"
(cd "$work/runtime" && exec env -i PATH="$PATH" NODE_ENV=production HOST=127.0.0.1 PORT=0 DATA_DIR="$work/data" \
  DATABASE_URL="sqlite:$work/data/warden.sqlite" JWT_PRIVATE_KEY="$key" MFA_ENCRYPTION_KEYS="$mfa_key" "$node22" --experimental-async-context-frame dist/src/main.js >"$log" 2>&1) &
pid=$!

port=""
for _ in $(seq 1 100); do
  port=$(grep -o '"message":"listening"[^}]*"port":[0-9]*' "$log" 2>/dev/null | grep -o '[0-9]*$' | head -n1 || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "check-container-steps: the service exited at start:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "check-container-steps: the service did not start:" >&2; cat "$log" >&2; exit 1; }

check() { # path, expected substring
  local body
  body=$(curl -fsS --max-time 5 "http://127.0.0.1:$port$1") || { echo "check-container-steps: GET $1 failed" >&2; cat "$log" >&2; exit 1; }
  case "$body" in *"$2"*) ;; *) echo "check-container-steps: GET $1 did not contain $2" >&2; exit 1 ;; esac
}
check /health '"status":"healthy"'
check /openapi.json '"/users/me"'
check /docs 'swagger-ui-bundle.js'
check /docs/swagger-ui-bundle.js 'SwaggerUIBundle'

echo "== SIGTERM"
kill -TERM "$pid"
code=0
for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "check-container-steps: still running 15 s after SIGTERM" >&2; exit 1; fi
wait "$pid" || code=$?
pid=""
[ "$code" -eq 0 ] || { echo "check-container-steps: exit code $code after SIGTERM" >&2; cat "$log" >&2; exit 1; }
echo "container steps OK in $((SECONDS - start)) s (port $port, exit $code)"
