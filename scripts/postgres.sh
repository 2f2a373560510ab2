#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests, never the system service: initdb into .build/postgres (git-ignored),
# a free loopback port, a random password, run as an unprivileged user (nobody, when called as root).
#   scripts/postgres.sh start   starts a fresh cluster and prints its URL (postgres://routershift:...@127.0.0.1:PORT/postgres)
#   scripts/postgres.sh stop    stops it (the test script's exit trap)
# PostgreSQL 15 is what the fleet is tested on; scripts/bootstrap.sh installs it from Debian when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
folder="$PWD/.build/postgres"

postgres_bin() {
    local initdb
    initdb="$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)"
    [ -n "$initdb" ] || { echo "postgres.sh: initdb not found (scripts/bootstrap.sh installs PostgreSQL)" >&2; exit 1; }
    dirname "$(readlink -f "$initdb")"
}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

stop() {
    [ -f "$folder/data/postmaster.pid" ] || return 0
    as_owner "$(postgres_bin)/pg_ctl" -D "$folder/data" -m fast -w stop >/dev/null
}

start() {
    local bin port password
    bin="$(postgres_bin)"
    stop
    rm -rf "$folder"
    mkdir -p "$folder/socket"
    password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
    printf '%s\n' "$password" > "$folder/password"
    [ "$(id -u)" -ne 0 ] || chown -R nobody "$folder"
    chmod 700 "$folder"
    as_owner "$bin/initdb" -D "$folder/data" -U routershift --auth=scram-sha-256 --pwfile="$folder/password" \
        -E UTF8 --no-instructions >"$folder/initdb.log"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    # fsync off: a test cluster need not survive power loss, and the suites write a lot.
    as_owner "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $folder/socket -c fsync=off -c max_connections=200" start >/dev/null
    echo "postgres://routershift:$password@127.0.0.1:$port/postgres?sslmode=disable"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: scripts/postgres.sh start|stop" >&2; exit 2 ;;
esac
