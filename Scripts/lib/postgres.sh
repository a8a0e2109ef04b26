# Sourced by Scripts/test and Scripts/bench: a throwaway PostgreSQL server for this run, in a
# temporary directory, on a free loopback port, as a non-root user, stopped when the script exits.
# Exports SOSCHED_TEST_POSTGRES (postgres://USER@127.0.0.1:PORT/postgres) and
# SOSCHED_TEST_POSTGRES_PASSWORD. Fails loudly (non-zero) if the server cannot start.

sosched_postgres_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

sosched_start_postgres() {
    local bin
    bin="$(sosched_postgres_bin)"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        sosched_apt_install postgresql
        bin="$(sosched_postgres_bin)"
    fi
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "error: PostgreSQL's initdb not found after installing the postgresql package" >&2
        return 1
    fi

    # PostgreSQL refuses to run as root: run it as the 'postgres' user the package made.
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        as=(runuser -u postgres --)
    fi

    SOSCHED_PG_DIR="$(mktemp -d /tmp/sosched-pg.XXXXXX)"
    chmod 755 "$SOSCHED_PG_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres "$SOSCHED_PG_DIR"
    local password port
    password="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))"
    printf '%s\n' "$password" > "$SOSCHED_PG_DIR/pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres "$SOSCHED_PG_DIR/pwfile"

    if ! "${as[@]}" "$bin/initdb" -D "$SOSCHED_PG_DIR/data" -U sosched --pwfile="$SOSCHED_PG_DIR/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$SOSCHED_PG_DIR/initdb.log" 2>&1; then
        echo "error: initdb failed; its log:" >&2
        cat "$SOSCHED_PG_DIR/initdb.log" >&2
        return 1
    fi
    if ! "${as[@]}" "$bin/pg_ctl" -D "$SOSCHED_PG_DIR/data" -l "$SOSCHED_PG_DIR/server.log" -w -t 60 \
        -o "-p $port -k $SOSCHED_PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=128MB" start >/dev/null; then
        echo "error: PostgreSQL did not start; its log:" >&2
        cat "$SOSCHED_PG_DIR/server.log" >&2
        return 1
    fi
    SOSCHED_PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$SOSCHED_PG_DIR/data" -m immediate stop)
    trap sosched_stop_postgres EXIT
    export SOSCHED_TEST_POSTGRES="postgres://sosched@127.0.0.1:$port/postgres"
    export SOSCHED_TEST_POSTGRES_PASSWORD="$password"
    echo "PostgreSQL for this run: $SOSCHED_TEST_POSTGRES (data in $SOSCHED_PG_DIR)" >&2
}

sosched_stop_postgres() {
    if [ -n "${SOSCHED_PG_DIR:-}" ]; then
        "${SOSCHED_PG_STOP[@]}" >/dev/null 2>&1 || true
        rm -rf "$SOSCHED_PG_DIR"
        SOSCHED_PG_DIR=""
    fi
}
