#!/bin/sh
# pg_harness.sh - a throwaway PostgreSQL cluster for the tests
#
#   pg_harness.sh start DIR [PORT]    initdb into DIR/data, start postgres on a Unix socket in DIR
#   pg_harness.sh stop DIR [PORT]     stop it and delete DIR
#   pg_harness.sh pause DIR / resume DIR   stop / start the server, keeping the data (fault tests)
#
# The server listens on no TCP address (listen_addresses=''), only on DIR/.s.PGSQL.PORT, with
# trust authentication for the superuser "postgres". initdb refuses to run as root, so as root
# the cluster belongs to an unprivileged user (NP_PG_OS_USER, default "nobody").
# With NP_TEST_PGHOST set, tests use that server and start/stop do nothing.
# The server is not durable (fsync, synchronous_commit and full_page_writes off: tests want
# speed); NP_PG_DURABLE=1 keeps PostgreSQL's durable defaults (bench/run --durable).
set -eu

cmd=${1:?usage: pg_harness.sh start|stop|pause|resume DIR [PORT]}
dir=${2:?usage: pg_harness.sh start|stop|pause|resume DIR [PORT]}
port=${3:-54329}

if [ -n "${NP_TEST_PGHOST:-}" ]; then
    echo "pg_harness: using the server at NP_TEST_PGHOST=$NP_TEST_PGHOST"
    exit 0
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    bindir=$(dirname "$(command -v initdb)")
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        # runuser keeps the environment small; the server needs none of ours.
        runuser -u "${NP_PG_OS_USER:-nobody}" -- "$@"
    else
        "$@"
    fi
}

pg_ctl_start() {
    fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${NP_PG_DURABLE:-0}" = 1 ] && fast=""
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-k $dir -p $port -c listen_addresses='' $fast -c max_connections=100 -c shared_buffers=128MB" \
        start >/dev/null
}

case "$cmd" in
    start)
        if [ -f "$dir/data/postmaster.pid" ]; then
            as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        fi
        rm -rf "$dir"
        mkdir -p "$dir"
        chmod 755 "$dir"
        if [ "$(id -u)" = 0 ]; then
            chown "${NP_PG_OS_USER:-nobody}" "$dir"
        fi
        as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
            --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
        pg_ctl_start || {
            cat "$dir/server.log" >&2
            exit 1
        }
        echo "pg_harness: PostgreSQL running, PGHOST=$dir PGPORT=$port PGUSER=postgres"
        ;;
    stop)
        if [ -d "$dir/data" ]; then
            as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
        fi
        rm -rf "$dir"
        ;;
    pause)
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
        ;;
    resume)
        pg_ctl_start
        ;;
    *)
        echo "pg_harness: unknown command $cmd" >&2
        exit 2
        ;;
esac
