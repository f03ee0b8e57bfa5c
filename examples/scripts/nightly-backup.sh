#!/usr/bin/env bash
# Nightly backup of the notes database with ops-backup: dump → verify by reading it back → apply retention → check
# the RPO (the newest verified backup is younger than BACKUP_RPO_HOURS, default 26).
#
#   DATABASE_URL=postgresql://app@127.0.0.1:5432/notes BACKUP_DIR=/var/backups/notes ./nightly-backup.sh
#
# cron:  15 3 * * *  cd /srv/notes && DATABASE_URL=... BACKUP_DIR=... ./nightly-backup.sh >> /var/log/notes-backup.log 2>&1
#
# Needs `ops-backup` on PATH (npm i @ops/backup, then run from node_modules/.bin or via `npx`), and pg_dump /
# pg_restore matching the server's major version. Exit codes: 0 backed up, verified and within the RPO, 1 a step
# failed (the RPO line then says how old the newest verified backup is), 2 usage or config error. Set
# OPS_BACKUP_CONFIG to use another config file.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  # The comment block at the top of this file is the help.
  sed -n '2,/^set -euo pipefail$/p' "${BASH_SOURCE[0]}" | sed '$d' | sed -E 's/^# ?//'
  exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
config="${OPS_BACKUP_CONFIG:-$here/ops-backup.yaml}"
: "${DATABASE_URL:?set DATABASE_URL to the database to back up (postgresql://...)}"
: "${BACKUP_DIR:?set BACKUP_DIR to the local backup directory}"
export DATABASE_URL BACKUP_DIR
command -v ops-backup >/dev/null || { echo "nightly-backup: ops-backup not found on PATH (npm i @ops/backup; add node_modules/.bin to PATH)" >&2; exit 2; }
rpo_hours="${BACKUP_RPO_HOURS:-26}"
[[ "$rpo_hours" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "nightly-backup: BACKUP_RPO_HOURS must be a number of hours, got '$rpo_hours'" >&2; exit 2; }

# RPO: how old is the newest backup that completed and was read back (full-read or deeper)? Exit 1 when too old.
rpo_check() {
  ops-backup list --job notes-db --json --config "$config" | node -e '
    let text = "";
    process.stdin.on("data", (chunk) => (text += chunk)).on("end", () => {
      const rpoHours = Number(process.argv[1]);
      const good = (JSON.parse(text || "{}").backups ?? [])
        .filter((backup) => backup.state === "completed" && backup.completedAt && ["full-read", "test-restore"].includes(backup.verified))
        .sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt));
      if (good.length === 0) {
        console.log(`nightly-backup: RPO ${rpoHours}h BREACHED: no verified backup of notes-db`);
        process.exit(1);
      }
      const hours = (Date.now() - Date.parse(good[0].completedAt)) / 3_600_000;
      const met = hours <= rpoHours;
      console.log(`nightly-backup: RPO ${rpoHours}h ${met ? "met" : "BREACHED"}: newest verified backup ${good[0].id} is ${hours.toFixed(1)}h old`);
      process.exit(met ? 0 : 1);
    });' "$rpo_hours"
}
# On a failed step, still say where the RPO stands (the cron mail then tells how urgent the failure is).
rpo_checked=0
trap 'status=$?; if [ "$status" -eq 1 ] && [ "$rpo_checked" -eq 0 ]; then rpo_check || true; fi' EXIT

echo "nightly-backup: $(date -u +%Y-%m-%dT%H:%M:%SZ) backing up notes-db to $BACKUP_DIR"
ops-backup run notes-db --config "$config"
# A backup nobody has read back is a hope, not a backup: decompress it and let pg_restore parse every block.
ops-backup verify latest --job notes-db --level full-read --config "$config"
# Retention only ever deletes beyond the policy and never the newest verified backups.
ops-backup prune notes-db --confirm --config "$config"
ops-backup list --job notes-db --config "$config"
rpo_checked=1
rpo_check
