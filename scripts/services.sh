#!/usr/bin/env bash
# Brings up the real services the @ops tests use, on Debian 12 (CI or a fresh development machine), as root.
# Idempotent: installs only missing packages, starts only what is not answering, and is a quick no-op when
# everything is already there. Prints every action; exits non-zero with the reason on failure.
#
#   PostgreSQL 15  127.0.0.1:5432, user postgres, trust auth on loopback (see "PostgreSQL auth" below)
#   Redis 7        127.0.0.1:6379, nothing kept on disk
#   podman + runc + busybox-static   @ops/testkit starts its own `podman system service` per test process
#   prometheus (+ promtool), prometheus-alertmanager   started by the tests that need them, on free ports
#   age, chromium  used by the backup and status-page tests
#
# PostgreSQL auth: Debian's default pg_hba.conf asks for a password (scram) on host connections. @ops/testkit
# connects as `postgres` to 127.0.0.1:5432 without one, so this script puts `trust` lines for the postgres role on
# loopback at the top of pg_hba.conf (once, marked) and reloads the server. That is meant for CI and development
# machines only. Anyone who prefers a password can instead export OPS_TEST_DATABASE_URL.
set -euo pipefail

say() { printf 'services: %s\n' "$*"; }
fail() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  as_root() { "$@"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root() { sudo -n "$@"; }
else
  as_root() { fail "this step needs root: run \`sudo bash scripts/services.sh\` (was: $*)"; }
fi

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; this script supports Debian 12. Install PostgreSQL 15, Redis 7, podman, runc, busybox-static, prometheus, prometheus-alertmanager, age and chromium by other means, or point the tests at servers with OPS_TEST_DATABASE_URL / OPS_TEST_REDIS_URL / OPS_TEST_DOCKER_SOCKET."

# ---- packages -----------------------------------------------------------------------------------------------
packages=(postgresql redis-server podman runc busybox-static prometheus prometheus-alertmanager age chromium)
# Rootful podman (how testkit runs it as root, with no network namespace) needs neither; a rootless user does.
if [ "$(id -u)" -ne 0 ] || [ -n "${SUDO_USER:-}" ]; then packages+=(uidmap slirp4netns); fi

missing=()
for package in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]; then missing+=("$package"); fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  say "packages: all ${#packages[@]} already installed"
else
  say "packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq || fail "apt-get update failed (is the Debian archive reachable?)"
  as_root apt-get install -y -qq "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
  say "packages: installed ${missing[*]}"
fi

# ldd fails on a static executable ("not a dynamic executable") and succeeds on a dynamic one.
if ldd /bin/busybox >/dev/null 2>&1; then
  fail "/bin/busybox is dynamically linked; the busybox image needs busybox-static (apt-get install -y busybox-static)"
fi

# ---- PostgreSQL ---------------------------------------------------------------------------------------------
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
pg_query() { psql -w -X -q -A -t -h 127.0.0.1 -p 5432 -U postgres -d postgres -c 'SELECT 1' 2>&1; }

read -r pg_version pg_cluster pg_status < <(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1, $2, $4; exit }') || true
if [ -z "${pg_version:-}" ]; then
  read -r pg_version pg_cluster pg_status < <(pg_lsclusters -h 2>/dev/null | awk '{ print $1, $2, $4; exit }') || true
fi
if [ -z "${pg_version:-}" ]; then
  pg_version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_cluster=main
  say "postgresql: creating cluster $pg_version/$pg_cluster"
  as_root pg_createcluster --port 5432 "$pg_version" "$pg_cluster" >/dev/null || fail "pg_createcluster $pg_version $pg_cluster failed"
  pg_status=down
fi

if pg_ready; then
  say "postgresql: $pg_version/$pg_cluster already answering on 127.0.0.1:5432"
else
  say "postgresql: starting $pg_version/$pg_cluster"
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$pg_cluster" start \
    || fail "pg_ctlcluster $pg_version $pg_cluster start failed; see /var/log/postgresql/postgresql-$pg_version-$pg_cluster.log"
  for _ in $(seq 1 50); do pg_ready && break; sleep 0.2; done
  pg_ready || fail "PostgreSQL $pg_version/$pg_cluster started but does not answer on 127.0.0.1:5432 (is its port 5432?)"
fi

hba_file=/etc/postgresql/$pg_version/$pg_cluster/pg_hba.conf
hba_marker='# @ops scripts/services.sh: trust the postgres role on loopback (test machines only)'
if answer=$(pg_query) && [ "$answer" = 1 ]; then
  say "postgresql: user postgres connects to 127.0.0.1:5432 without a password"
elif as_root grep -qF "$hba_marker" "$hba_file" 2>/dev/null; then
  fail "pg_hba.conf already has the trust lines but connecting as postgres to 127.0.0.1:5432 still fails: $answer"
else
  say "postgresql: adding loopback trust for user postgres to $hba_file and reloading"
  [ -f "$hba_file" ] || fail "$hba_file not found"
  new_hba=$(mktemp)
  { printf '%s\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust\n\n' "$hba_marker"; as_root cat "$hba_file"; } > "$new_hba"
  as_root cp "$new_hba" "$hba_file"
  rm -f "$new_hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$pg_cluster" reload || fail "reloading PostgreSQL failed"
  answer=$(pg_query) && [ "$answer" = 1 ] || fail "still cannot connect as postgres to 127.0.0.1:5432: $answer"
  say "postgresql: user postgres now connects to 127.0.0.1:5432 without a password"
fi

# ---- Redis --------------------------------------------------------------------------------------------------
redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
if redis_ready; then
  say "redis: already answering on 127.0.0.1:6379"
else
  say "redis: starting redis-server on 127.0.0.1:6379 (nothing kept on disk)"
  redis_dir=/var/lib/ops-test-redis
  as_root mkdir -p "$redis_dir"
  as_root redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --pidfile "$redis_dir/redis.pid" \
    --dir "$redis_dir" --logfile "$redis_dir/redis.log" --save '' --appendonly no \
    || fail "redis-server did not start; see $redis_dir/redis.log"
  for _ in $(seq 1 50); do redis_ready && break; sleep 0.1; done
  redis_ready || fail "redis-server started but does not answer PING on 127.0.0.1:6379; see $redis_dir/redis.log"
  say "redis: started (pid $(cat "$redis_dir/redis.pid"))"
fi

# ---- tools the tests start themselves ------------------------------------------------------------------------
for tool in podman runc promtool prometheus prometheus-alertmanager age chromium; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not on PATH after installing the packages"
done
say "tools: podman $(podman --version | awk '{print $3}'), runc, promtool, prometheus, prometheus-alertmanager, age, chromium present"
say "ready"
