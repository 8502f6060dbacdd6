#!/usr/bin/env bash
# Gives tests a real, throwaway Postgres and prints its URL (the only line on stdout):
#
#   TEST_POSTGRES_URL=$(scripts/start-postgres.sh)     # start (or reuse) on 127.0.0.1:${PGPORT:-54329}
#   scripts/start-postgres.sh stop                     # stop it and delete its data
#
# - Uses the newest /usr/lib/postgresql/*/bin; if there is none, installs Debian's `postgresql` (root, apt-get).
# - The cluster lives in ${EVIDENCE_PG_DIR:-/tmp/evidence-postgres-$PGPORT} (data, socket, log), owned by the
#   `postgres` user when run as root (initdb refuses root). Tuned for tests: fsync off, nothing worth keeping.
#   PG_DURABLE=1 keeps Postgres's durable defaults instead (fsync, synchronous_commit: what benchmarks compare with).
# - Idempotent: if the URL already works, it is just printed. If the port is taken by something that does not accept
#   the URL, it fails rather than touching it (unless it is this script's own cluster, which is then re-created).
# Everything except the URL goes to stderr.
set -euo pipefail

PORT="${PGPORT:-54329}"
HOST=127.0.0.1
DB=evidence_test
ROLE=evidence
PASSWORD=evidence
URL="postgres://${ROLE}:${PASSWORD}@${HOST}:${PORT}/${DB}"
BASE="${EVIDENCE_PG_DIR:-/tmp/evidence-postgres-${PORT}}"
DATA="$BASE/data"
LOG="$BASE/postgres.log"

log() { echo "start-postgres: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Don't let a caller's libpq environment redirect our psql calls.
unset PGHOST PGHOSTADDR PGUSER PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE PGSSLMODE PGOPTIONS

case "$BASE" in
  /*/*) ;;
  *) die "EVIDENCE_PG_DIR must be an absolute path below a directory (got '$BASE')" ;;
esac

find_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
  done | sort -V | tail -n1
}

# Runs a command as the cluster owner (postgres when we are root, else ourselves), from a directory it can read.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
      (cd "$BASE" && runuser -u postgres -- "$@")
    else
      local quoted
      quoted=$(printf '%q ' "$@")
      (cd "$BASE" && su postgres -s /bin/sh -c "$quoted")
    fi
  else
    (cd "$BASE" && "$@")
  fi
}

url_works() {
  [ -n "${BINDIR:-}" ] && [ -x "$BINDIR/psql" ] || return 1
  PGCONNECT_TIMEOUT=3 "$BINDIR/psql" "$URL" -XAtq -c 'SELECT 1' >/dev/null 2>&1
}

port_in_use() {
  (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

ours_running() {
  [ -f "$DATA/postmaster.pid" ] && [ -n "${BINDIR:-}" ] && as_owner "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

stop_ours() {
  if [ -d "$DATA" ] && [ -n "${BINDIR:-}" ] && ours_running; then
    log "stopping the cluster in $DATA"
    as_owner "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >&2 || as_owner "$BINDIR/pg_ctl" -D "$DATA" -m immediate stop >&2 || true
  fi
}

BINDIR=$(find_bindir)

if [ "${1:-start}" = stop ]; then
  stop_ours
  if [ -d "$BASE" ]; then
    rm -rf -- "$BASE"
    log "removed $BASE"
  fi
  exit 0
elif [ "${1:-start}" != start ]; then
  die "usage: $0 [start|stop]"
fi

if [ -z "$BINDIR" ]; then
  [ "$(id -u)" = 0 ] || die "no PostgreSQL under /usr/lib/postgresql/*/bin and not root: install the postgresql package"
  log "no PostgreSQL under /usr/lib/postgresql/*/bin: installing the postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
  BINDIR=$(find_bindir)
  [ -n "$BINDIR" ] || die "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
fi
log "using $BINDIR"

if url_works; then
  log "already running: $HOST:$PORT accepts the URL"
  echo "$URL"
  exit 0
fi

if port_in_use; then
  if [ -d "$DATA" ] && ours_running; then
    log "our cluster on port $PORT does not accept the URL: re-creating it"
    stop_ours
  else
    die "something else listens on $HOST:$PORT and does not accept $ROLE@$DB; set PGPORT to a free port"
  fi
fi

if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  log "creating the postgres system user"
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres >&2
fi

# A fresh cluster every time it is not running: throwaway by design.
stop_ours
rm -rf -- "$BASE"
mkdir -p "$BASE"
chmod 700 "$BASE"
if [ "$(id -u)" = 0 ]; then chown postgres: "$BASE"; fi

log "initdb in $DATA"
as_owner "$BINDIR/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
  --auth-local=trust --auth-host=scram-sha-256 --no-sync >&2 2>"$BASE/initdb.log" ||
  { cat "$BASE/initdb.log" >&2; die "initdb failed"; }

cat >>"$DATA/postgresql.conf" <<EOF

# start-postgres.sh: throwaway test cluster
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$BASE'
max_connections = 200
password_encryption = 'scram-sha-256'
EOF
if [ "${PG_DURABLE:-}" != 1 ]; then
  printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$DATA/postgresql.conf"
fi

log "starting on $HOST:$PORT (log: $LOG)"
if ! as_owner "$BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >&2; then
  tail -n 30 "$LOG" >&2 || true
  die "postgres did not start"
fi

as_owner "$BINDIR/psql" -h "$BASE" -p "$PORT" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" \
  -c "CREATE DATABASE $DB OWNER $ROLE" >&2

url_works || die "postgres started but $URL does not accept connections (see $LOG)"
log "ready"
echo "$URL"
