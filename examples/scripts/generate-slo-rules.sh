#!/usr/bin/env bash
# Turns an SLO spec into Prometheus recording and alerting rules, and checks them with promtool when available.
#
#   ./generate-slo-rules.sh [slos.yaml] [slo-rules.yaml]
#
# Defaults: the reference backend's spec, written to ./slo-rules.yaml. Load the output in Prometheus with
# `rule_files: [slo-rules.yaml]`; the rules read the ops_slo_* counters the service exports on /metrics, so the
# same SLOs are evaluated across every replica. Needs `ops-slo` on PATH (npm i @ops/slo).
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  # The comment block at the top of this file is the help.
  sed -n '2,/^set -euo pipefail$/p' "${BASH_SOURCE[0]}" | sed '$d' | sed -E 's/^# ?//'
  exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
spec="${1:-$here/../reference-backend/slos.yaml}"
output="${2:-slo-rules.yaml}"
command -v ops-slo >/dev/null || { echo "generate-slo-rules: ops-slo not found on PATH (npm i @ops/slo; add node_modules/.bin to PATH)" >&2; exit 2; }

ops-slo validate --strict "$spec"
ops-slo rules "$spec" --output "$output" --interval 30s
if command -v promtool >/dev/null; then
  promtool check rules "$output"
else
  echo "generate-slo-rules: promtool not found; skipped 'promtool check rules' (apt-get install prometheus)" >&2
fi
