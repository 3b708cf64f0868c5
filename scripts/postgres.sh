# shellcheck shell=bash
# Starts a throwaway PostgreSQL server for the tests and benchmarks: Debian's postgresql
# package (install.sh installs it), a fresh cluster under target/postgres (initdb), on a
# free loopback port with trust authentication, stopped and deleted when the calling
# script exits. Nothing system-wide is used: no service, no system user, no fixed port.
# Sourced, not run: `start_postgres` sets POSTGRES_URL (the `postgres` database of user
# `tryon`); the caller's EXIT trap calls `stop_postgres`.

# The newest installed server's programs (initdb, pg_ctl, postgres).
postgres_bin() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "error: PostgreSQL's server programs are missing; run scripts/install.sh (Debian's postgresql package)" >&2
        return 1
    fi
    echo "$bin"
}

# PostgreSQL refuses to run as root, so as root the server runs as `nobody`; its folder
# must then be reachable by that user. A checkout inside a folder only root may enter
# (mktemp -d makes such folders) gets the cluster in a fresh folder under /tmp instead.
as_postgres_user() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
    else
        "$@"
    fi
}

start_postgres() {
    local bin port root
    bin="$(postgres_bin)"
    root="$REPO_ROOT/target/postgres"
    rm -rf "$root"
    mkdir -p "$root"
    if [ "$(id -u)" -eq 0 ]; then
        chown nobody:nogroup "$root"
        if ! as_postgres_user test -w "$root"; then
            rm -rf "$root"
            root="$(mktemp -d /tmp/tryon-postgres.XXXXXX)"
            chown nobody:nogroup "$root"
            chmod 755 "$root"
        fi
    fi
    POSTGRES_ROOT="$root"
    as_postgres_user "$bin/initdb" --pgdata="$root/data" --username=tryon --auth=trust \
        --encoding=UTF8 --locale=C >"$root/initdb.log" 2>&1 || {
        echo "error: initdb failed; its log follows" >&2
        cat "$root/initdb.log" >&2
        return 1
    }
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    # fsync off: the cluster lives for one run, and a crash of the machine loses nothing
    # worth keeping. Connections: every test proxy has a pool of its own.
    as_postgres_user "$bin/pg_ctl" --pgdata="$root/data" --log="$root/server.log" --wait \
        --timeout=60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=off -c max_connections=400" \
        start >/dev/null || {
        echo "error: PostgreSQL did not start; its log follows" >&2
        cat "$root/server.log" >&2
        return 1
    }
    POSTGRES_URL="postgres://tryon@127.0.0.1:$port/postgres"
    export POSTGRES_URL
    echo "PostgreSQL ready on 127.0.0.1:$port (log: $root/server.log)"
}

stop_postgres() {
    if [ -n "${POSTGRES_ROOT:-}" ] && [ -d "$POSTGRES_ROOT/data" ]; then
        as_postgres_user "$(postgres_bin)/pg_ctl" --pgdata="$POSTGRES_ROOT/data" --mode=immediate \
            stop >/dev/null 2>&1 || true
        rm -rf "$POSTGRES_ROOT"
    fi
}
