#!/usr/bin/env bash
# Monthly capacity report: `ops-capacity report` over the last weeks of metrics — trends, the hour-of-week profile,
# forecasts with their bands, time to exhaustion — written as report.md, report.json and SVG charts into
# $REPORT_DIR/<YYYY-MM>/, ready to attach to the monthly review.
#
#   REPORT_DIR=/var/reports/capacity PROMETHEUS_URL=http://127.0.0.1:9090 ./monthly-capacity-report.sh
#   REPORT_DIR=./reports ./monthly-capacity-report.sh requests.csv db-size.csv --capacity db-size=50e9
#
# With no arguments the series come from Prometheus through capacity.yaml (set CAPACITY_CONFIG for another file);
# arguments are series files (CSV or JSON) and ops-capacity report options. REPORT_MONTH overrides the folder name,
# HORIZON the forecast horizon (default 30d). Needs `ops-capacity` on PATH (npm i @ops/capacity).
# Exit codes: 0 report written, 1 a source failed, 2 usage or config error.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  # The comment block at the top of this file is the help.
  sed -n '2,/^set -euo pipefail$/p' "${BASH_SOURCE[0]}" | sed '$d' | sed -E 's/^# ?//'
  exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ -n "${REPORT_DIR:-}" ] || { echo "monthly-capacity-report: set REPORT_DIR to the directory the monthly reports go to" >&2; exit 2; }
command -v ops-capacity >/dev/null || { echo "monthly-capacity-report: ops-capacity not found on PATH (npm i @ops/capacity; add node_modules/.bin to PATH)" >&2; exit 2; }
month="${REPORT_MONTH:-$(date -u +%Y-%m)}"
[[ "$month" =~ ^[0-9]{4}-[0-9]{2}$ ]] || { echo "monthly-capacity-report: REPORT_MONTH must be YYYY-MM, got '$month'" >&2; exit 2; }
out="$REPORT_DIR/$month"

if [ "$#" -gt 0 ]; then
  ops-capacity report "$@" --horizon "${HORIZON:-30d}" --title "Capacity report $month" --out "$out"
else
  config="${CAPACITY_CONFIG:-$here/capacity.yaml}"
  [ -n "${PROMETHEUS_URL:-}" ] || { echo "monthly-capacity-report: set PROMETHEUS_URL (used by $config), or give series files as arguments" >&2; exit 2; }
  export PROMETHEUS_URL
  ops-capacity report --config "$config" --horizon "${HORIZON:-30d}" --title "Capacity report $month" --out "$out"
fi

[ -s "$out/report.md" ] || { echo "monthly-capacity-report: $out/report.md was not written" >&2; exit 1; }
charts=$(find "$out" -maxdepth 1 -name '*.svg' | wc -l)
echo "monthly-capacity-report: $out/report.md, report.json and $charts SVG charts"
