#!/usr/bin/env bash
# A throwaway PostgreSQL on 127.0.0.1 for tests and benchmarks.
#   postgres.sh start   installs PostgreSQL from Debian's packages when missing, starts a fresh
#                       cluster on a free port, prints its URL on stdout
#   postgres.sh stop    stops that cluster and deletes its files
set -euo pipefail
state="${SAKSFLYT_SERVICES_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.services}"
mkdir -p "$state"
# shellcheck source=compose/service-lib.sh
. "$(dirname "$0")/service-lib.sh"

log() { echo "postgres.sh: $*" >&2; }

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_owner() {  # PostgreSQL refuses to run as root: use the postgres account then
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}


start() {
  if [ -z "$(pg_bin)" ]; then
    log "installing PostgreSQL from Debian's packages"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  local bin dir port
  bin=$(pg_bin)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/saksflyt-pg.XXXXXX")
  port=$(free_port)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U saksflyt --auth=trust -E UTF8 >/dev/null
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U saksflyt saksflyt
  echo "$dir" > "$state/postgres.dir"
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
  echo "postgresql://saksflyt@127.0.0.1:$port/saksflyt"
}

stop() {
  [ -f "$state/postgres.dir" ] || return 0
  local dir
  dir=$(cat "$state/postgres.dir")
  as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir" "$state/postgres.dir"
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
