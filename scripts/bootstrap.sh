#!/usr/bin/env bash
# Brings a fresh clone to a buildable state with nothing but Node.js 20.19+ and the OS:
#   - pnpm at the version pinned in package.json's packageManager
#   - the workspace's dependencies from the committed lockfile
#   - with --services: the real servers the tests use (scripts/services.sh; needs root or sudo on Debian)
# Idempotent: a second run is a quick no-op.
set -euo pipefail
cd "$(dirname "$0")/.."

want_services=0
for arg in "$@"; do
  case "$arg" in
    --services) want_services=1 ;;
    *) echo "bootstrap: unknown argument $arg (expected --services)" >&2; exit 2 ;;
  esac
done

# npm passes its own configuration to child processes as npm_config_* variables; pnpm would read them too.
while IFS='=' read -r name _; do unset "$name"; done < <(env | grep -i '^npm_config_' || true)

export TURBO_TELEMETRY_DISABLED=1 COREPACK_ENABLE_DOWNLOAD_PROMPT=0

node_major=$(node -p 'process.versions.node.split(".")[0]')
node_minor=$(node -p 'process.versions.node.split(".")[1]')
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
  echo "bootstrap: Node.js >= 20.19 is required (found $(node --version))" >&2
  exit 2
fi

pnpm_version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$pnpm_version" ]; then
  echo "bootstrap: installing pnpm@$pnpm_version"
  if ! npm install --global --no-fund --no-audit "pnpm@$pnpm_version" >/dev/null 2>&1; then
    # Without write access to npm's global prefix, install into the repo instead.
    npm install --no-fund --no-audit --prefix .tmp/pnpm "pnpm@$pnpm_version" >/dev/null
    export PATH="$PWD/.tmp/pnpm/node_modules/.bin:$PATH"
  fi
fi

if [ "$want_services" = 1 ]; then
  bash scripts/services.sh
fi

if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ] || [ "${CI:-}" = "true" ]; then
  pnpm install --frozen-lockfile
fi
