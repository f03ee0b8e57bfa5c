#!/usr/bin/env bash
# Nightly backup of the notes database with ops-backup: dump → verify by reading it back → apply retention.
#
#   DATABASE_URL=postgresql://app@127.0.0.1:5432/notes BACKUP_DIR=/var/backups/notes ./nightly-backup.sh
#
# cron:  15 3 * * *  cd /srv/notes && DATABASE_URL=... BACKUP_DIR=... ./nightly-backup.sh >> /var/log/notes-backup.log 2>&1
#
# Needs `ops-backup` on PATH (npm i @ops/backup, then run from node_modules/.bin or via `npx`), and pg_dump /
# pg_restore matching the server's major version. Exit codes: 0 backed up and verified, 1 a step failed,
# 2 usage or config error. Set OPS_BACKUP_CONFIG to use another config file.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
config="${OPS_BACKUP_CONFIG:-$here/ops-backup.yaml}"
: "${DATABASE_URL:?set DATABASE_URL to the database to back up (postgresql://...)}"
: "${BACKUP_DIR:?set BACKUP_DIR to the local backup directory}"
export DATABASE_URL BACKUP_DIR
command -v ops-backup >/dev/null || { echo "nightly-backup: ops-backup not found on PATH (npm i @ops/backup; add node_modules/.bin to PATH)" >&2; exit 2; }

echo "nightly-backup: $(date -u +%Y-%m-%dT%H:%M:%SZ) backing up notes-db to $BACKUP_DIR"
ops-backup run notes-db --config "$config"
# A backup nobody has read back is a hope, not a backup: decompress it and let pg_restore parse every block.
ops-backup verify latest --job notes-db --level full-read --config "$config"
# Retention only ever deletes beyond the policy and never the newest verified backups.
ops-backup prune notes-db --confirm --config "$config"
ops-backup list --job notes-db --config "$config"
