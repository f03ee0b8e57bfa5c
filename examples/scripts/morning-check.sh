#!/usr/bin/env bash
# The morning check: probes the service's health endpoints with deadlines and prints one table.
#
#   SERVICE_URL=http://127.0.0.1:8080 ./morning-check.sh           # table; exit 1 when a critical endpoint fails
#   SERVICE_URL=http://127.0.0.1:8080 ./morning-check.sh --json    # for a chat bot or a CI step
#
# Needs `ops-health` on PATH (npm i @ops/health). Exit codes: 0 healthy (or only non-critical problems),
# 1 a critical endpoint failed, 2 usage or config error. Extra arguments go to ops-health.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${SERVICE_URL:?set SERVICE_URL to the service base URL (http://host:port)}"
export SERVICE_URL
command -v ops-health >/dev/null || { echo "morning-check: ops-health not found on PATH (npm i @ops/health; add node_modules/.bin to PATH)" >&2; exit 2; }

exec ops-health --config "$here/morning-check.yaml" "$@"
