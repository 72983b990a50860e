#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (issue 23): initdb in a temporary folder, listening only on a Unix
# socket in that folder, owned by an unprivileged user (initdb refuses root; CI runs as root).
#
#   eval "$(tests/pg/cluster.sh start)"   # prints: export CASEAUDIT_TEST_POSTGRES=<url>; export CASEAUDIT_PG_DIR=<dir>
#   tests/pg/cluster.sh stop "$CASEAUDIT_PG_DIR"
#
# Prints nothing on stdout (and exits 1, with the reason on stderr) when PostgreSQL is not installed or will not
# start, so that the tests that need it skip with that reason visible (or fail, under CASEAUDIT_REQUIRE_POSTGRES=1).
set -euo pipefail

find_bin() {
  local name=$1
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$found" ] && echo "$found"
}

as_owner() {
  # Run as the cluster's owner: ourselves, or (as root) the unprivileged user `nobody`.
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

start() {
  local initdb pg_ctl dir
  initdb=$(find_bin initdb) || true
  pg_ctl=$(find_bin pg_ctl) || true
  if [ -z "${initdb:-}" ] || [ -z "${pg_ctl:-}" ]; then
    echo "PostgreSQL is not installed (no initdb/pg_ctl): install the Debian package postgresql" >&2
    exit 1
  fi
  dir=$(mktemp -d /tmp/caseaudit-pg.XXXXXX)
  chmod 755 "$dir"
  [ "$(id -u)" = 0 ] && chown nobody "$dir"
  as_owner "$initdb" -D "$dir/data" -U caseaudit -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { echo "initdb failed: see $dir/initdb.log" >&2; exit 1; }
  as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null 2>&1 || { echo "PostgreSQL did not start: see $dir/server.log" >&2; exit 1; }
  echo "export CASEAUDIT_TEST_POSTGRES='postgresql+psycopg://caseaudit@/postgres?host=$dir'"
  echo "export CASEAUDIT_PG_DIR='$dir'"
}

stop() {
  local dir=${1:?the cluster folder} pg_ctl
  pg_ctl=$(find_bin pg_ctl)
  as_owner "$pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
