# shellcheck shell=bash
# Throwaway PostgreSQL and MariaDB servers for tests/test_till_servers.py: source this file
# (CI's .ci/run does; locally: `. scripts/test_servers.sh && python -m pytest
# tests/test_till_servers.py`). Each server runs as a plain process on a unix socket in a
# temporary folder (no TCP port, no systemd, nothing installed as a service) and is stopped,
# its folder removed, when the sourcing shell exits (trap on EXIT).
#
# Exports, for each server that started:
#   POSSUGGEST_TEST_PG_URL      postgresql+psycopg://possuggest_admin@/postgres?host=DIR/pg-run
#   POSSUGGEST_TEST_MYSQL_URL   mysql+pymysql://possuggest_admin@localhost/?unix_socket=DIR/my-run/mysql.sock
# The admin accounts may create databases and roles (the tests load fixtures with them). A
# role named possuggest_reader must give its password on PostgreSQL (password_env is tested).
# A server whose programs are missing is skipped with a message (its tests then skip);
# POSSUGGEST_TEST_SERVERS_INSTALL=1 installs them first with apt-get (CI sets it).
# Start-up takes a few seconds; the figure is printed.

_ts_log() { printf 'test servers: %s\n' "$*" >&2; }

_ts_root=$(mktemp -d "${TMPDIR:-/tmp}/possuggest-servers.XXXXXX")
chmod 755 "$_ts_root"
_ts_started=$(date +%s%N)

# -- run a command as the servers' owner (PostgreSQL and MariaDB refuse root) ---------------------
_ts_as() {     # _ts_as USER CMD...: as USER when we are root, else as ourselves
    local user=$1
    shift
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$user" -- "$@"
    else
        "$@"
    fi
}

_ts_stop() {
    if [ -n "${_ts_pg_bin:-}" ] && [ -f "$_ts_root/pg/postmaster.pid" ]; then
        _ts_as postgres "$_ts_pg_bin/pg_ctl" -D "$_ts_root/pg" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ -n "${_ts_my_pid:-}" ]; then
        kill "$_ts_my_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$_ts_my_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$_ts_my_pid" 2>/dev/null || true
    fi
    rm -rf "$_ts_root"
}
trap _ts_stop EXIT

if [ "${POSSUGGEST_TEST_SERVERS_INSTALL:-}" = 1 ]; then
    _ts_need=()
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || _ts_need+=(postgresql)
    command -v mariadbd >/dev/null || command -v mysqld >/dev/null || _ts_need+=(mariadb-server)
    if [ ${#_ts_need[@]} -gt 0 ]; then
        _ts_log "installing ${_ts_need[*]} with apt-get"
        # the packages' scripts must not start a system-wide server: not a service install
        _ts_policy=
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            _ts_policy=1
        fi
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${_ts_need[@]}") >"$_ts_root/apt.log" 2>&1 \
            || { _ts_log "apt-get failed:"; tail -5 "$_ts_root/apt.log" >&2; }
        [ -n "$_ts_policy" ] && rm -f /usr/sbin/policy-rc.d
    fi
fi

# -- PostgreSQL: initdb + pg_ctl on a socket --------------------------------------------------------
_ts_pg_bin=$( (find /usr/lib/postgresql/*/bin -maxdepth 1 -name initdb 2>/dev/null || true) \
    | sort -V | tail -1)
_ts_pg_bin=${_ts_pg_bin%/initdb}
if [ -z "$_ts_pg_bin" ] && command -v initdb >/dev/null; then
    _ts_pg_bin=$(dirname "$(command -v initdb)")
fi
if [ -z "$_ts_pg_bin" ]; then
    _ts_log "PostgreSQL not found (initdb): its tests will skip"
elif [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    _ts_log "no 'postgres' user to run PostgreSQL as: its tests will skip"
    _ts_pg_bin=
else
    mkdir -p "$_ts_root/pg" "$_ts_root/pg-run"      # data; socket and log (the server's own)
    [ "$(id -u)" = 0 ] && chown postgres "$_ts_root/pg" "$_ts_root/pg-run"
    if _ts_as postgres "$_ts_pg_bin/initdb" -D "$_ts_root/pg" -U possuggest_admin -A trust \
            -E UTF8 --locale=C --no-sync >"$_ts_root/pg-init.log" 2>&1; then
        cat > "$_ts_root/pg/pg_hba.conf" <<'EOF'
local all possuggest_reader scram-sha-256
local all all trust
EOF
        if _ts_as postgres "$_ts_pg_bin/pg_ctl" -D "$_ts_root/pg" -l "$_ts_root/pg-run/log" -w \
                -o "-k $_ts_root/pg-run -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
                start >/dev/null 2>&1; then
            export POSSUGGEST_TEST_PG_URL="postgresql+psycopg://possuggest_admin@/postgres?host=$_ts_root/pg-run"
        else
            _ts_log "PostgreSQL did not start:"
            tail -5 "$_ts_root/pg-run/log" >&2
            _ts_pg_bin=
        fi
    else
        _ts_log "initdb failed:"
        tail -5 "$_ts_root/pg-init.log" >&2
        _ts_pg_bin=
    fi
fi

# -- MariaDB (or MySQL): mariadb-install-db + mariadbd on a socket ---------------------------------
_ts_mysqld=$(command -v mariadbd || command -v mysqld || true)
_ts_install_db=$(command -v mariadb-install-db || command -v mysql_install_db || true)
_ts_my_client=$(command -v mariadb || command -v mysql || true)
if [ -z "$_ts_mysqld" ] || [ -z "$_ts_install_db" ] || [ -z "$_ts_my_client" ]; then
    _ts_log "MariaDB not found (mariadbd): its tests will skip"
else
    # the server's OS user; the OS user we are may log in as the server's admin (socket auth)
    _ts_my_user=$(id -un)
    _ts_my_admin=$_ts_my_user
    if [ "$(id -u)" = 0 ]; then
        _ts_my_user=mysql
        id mysql >/dev/null 2>&1 || _ts_my_user=root
        _ts_my_admin=root
    fi
    mkdir -p "$_ts_root/my" "$_ts_root/my-run"      # data; socket, pid and log
    [ "$(id -u)" = 0 ] && chown "$_ts_my_user" "$_ts_root/my" "$_ts_root/my-run"
    _ts_sock=$_ts_root/my-run/mysql.sock
    _ts_my_opts=(--no-defaults --datadir="$_ts_root/my" --socket="$_ts_sock"
                 --skip-networking --user="$_ts_my_user" --skip-log-bin
                 --innodb-buffer-pool-size=64M --innodb-log-file-size=16M
                 --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0
                 --performance-schema=OFF)
    if "$_ts_install_db" --no-defaults --datadir="$_ts_root/my" --user="$_ts_my_user" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$_ts_root/my-init.log" 2>&1; then
        "$_ts_mysqld" "${_ts_my_opts[@]}" --pid-file="$_ts_root/my-run/mysql.pid" \
            --log-error="$_ts_root/my-run/log" >/dev/null 2>&1 &
        _ts_my_pid=$!
        _ts_my_up=
        for _ in $(seq 1 300); do
            if [ -S "$_ts_sock" ] && "$_ts_my_client" --no-defaults -u"$_ts_my_admin" \
                    --socket="$_ts_sock" -e "SELECT 1" >/dev/null 2>&1; then
                _ts_my_up=1
                break
            fi
            kill -0 "$_ts_my_pid" 2>/dev/null || break
            sleep 0.1
        done
        if [ -n "$_ts_my_up" ]; then
            "$_ts_my_client" --no-defaults -u"$_ts_my_admin" --socket="$_ts_sock" <<'EOF'
CREATE USER 'possuggest_admin'@'localhost';
GRANT ALL PRIVILEGES ON *.* TO 'possuggest_admin'@'localhost' WITH GRANT OPTION;
EOF
            export POSSUGGEST_TEST_MYSQL_URL="mysql+pymysql://possuggest_admin@localhost/?unix_socket=$_ts_sock"
        else
            _ts_log "MariaDB did not start:"
            tail -5 "$_ts_root/my-run/log" >&2
        fi
    else
        _ts_log "mariadb-install-db failed:"
        tail -5 "$_ts_root/my-init.log" >&2
    fi
fi

_ts_ms=$(( ($(date +%s%N) - _ts_started) / 1000000 ))
_ts_state() { if [ -n "$1" ]; then echo up; else echo "not running"; fi; }
_ts_log "PostgreSQL $(_ts_state "${POSSUGGEST_TEST_PG_URL:-}")," \
    "MariaDB $(_ts_state "${POSSUGGEST_TEST_MYSQL_URL:-}")" \
    "($((_ts_ms / 1000)).$(printf '%03d' $((_ts_ms % 1000))) s to start)"
