#!/usr/bin/env bash
# The project's test command: provisions what the tests need on this machine
# (PostgreSQL, NATS JetStream, Python readers for the Parquet lake, an S3
# server, nginx, Chromium), checks formatting and lints, then runs the whole
# test suite.
#
#   scripts/test.sh              # everything
#   scripts/test.sh -p supermarket-loader   # extra args go to `cargo nextest run`
#   FUZZ_SECONDS=0 scripts/test.sh          # without the fuzzing step
#
# Services that already answer are used as they are. On a fresh Debian
# machine the missing ones are installed with apt and started: PostgreSQL
# through Debian's cluster tools (it refuses to run as root), nats-server in
# the background with its own data folder under target/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE="$ROOT/target/test-services"
mkdir -p "$STATE"

log() { printf '\033[1m[test]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=
apt_install() {
    if [ -z "$APT_UPDATED" ]; then
        log "apt-get update"
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    log "installing $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- PostgreSQL --------------------------------------------------------------
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

pg_answers() { psql "$DATABASE_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; }

ensure_postgres() {
    if command -v psql >/dev/null && pg_answers; then
        log "PostgreSQL answers at 127.0.0.1:5432"
        return
    fi
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        apt_install postgresql postgresql-client
    fi
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}' | grep -qx "$version/main"; then
        as_root pg_createcluster "$version" main >/dev/null
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    for _ in $(seq 1 30); do
        pg_isready -h 127.0.0.1 -p 5432 -q && break
        sleep 1
    done
    if ! pg_answers; then
        # A fresh Debian cluster asks for a password over TCP. Give the
        # postgres role a random one for this machine (never stored in the repo).
        local secret="$STATE/pg-password"
        [ -s "$secret" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$secret"
        as_root runuser -u postgres -- psql -qc "ALTER ROLE postgres PASSWORD '$(cat "$secret")'" >/dev/null
        export DATABASE_URL="postgres://postgres:$(cat "$secret")@127.0.0.1:5432/postgres"
    fi
    pg_answers || { log "PostgreSQL does not answer at $DATABASE_URL"; exit 1; }
}

# --- NATS JetStream ----------------------------------------------------------
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_nats() {
    if port_open 4222; then
        log "NATS answers at 127.0.0.1:4222"
        return
    fi
    command -v nats-server >/dev/null || apt_install nats-server
    log "starting nats-server with JetStream (data in $STATE/nats)"
    mkdir -p "$STATE/nats"
    nohup nats-server -a 127.0.0.1 -p 4222 -js -sd "$STATE/nats" >"$STATE/nats.log" 2>&1 &
    for _ in $(seq 1 30); do port_open 4222 && return; sleep 0.5; done
    log "nats-server did not start: see $STATE/nats.log"; exit 1
}

# --- Server binaries of the chaos suite (crates/cli/tests/chaos.rs) ----------
# It runs a private PostgreSQL and nats-server of its own, to kill and restart
# them, so it needs their binaries even when the shared servers answer.
ensure_server_binaries() {
    local missing=()
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing+=(postgresql)
    command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# --- Python readers, the S3 test server and the API fuzzer -------------------
# Keep in step with VERSION in crates/testkit/src/schemathesis.rs.
SCHEMATHESIS_VERSION=4.32.5

ensure_python_tools() {
    local venv="$ROOT/target/test-venv"
    if [ ! -x "$venv/bin/python3" ]; then
        python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    fi
    if ! "$venv/bin/python3" -c 'import duckdb, pyarrow, boto3, moto' 2>/dev/null; then
        log "installing duckdb, pyarrow, boto3, moto[server] into target/test-venv"
        "$venv/bin/pip" install -q --disable-pip-version-check duckdb pyarrow boto3 'moto[server]'
    fi
    # Schemathesis (`st`): the API fuzzing tests run it against each service.
    if ! "$venv/bin/st" --version 2>/dev/null | grep -qx "st, version $SCHEMATHESIS_VERSION"; then
        log "installing schemathesis $SCHEMATHESIS_VERSION into target/test-venv"
        "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    fi
    export PATH="$venv/bin:$PATH"
}

# --- nginx and Chromium (edge config check, browser tests) -------------------
ensure_web_tools() {
    local missing=()
    command -v nginx >/dev/null || missing+=(nginx)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    command -v openssl >/dev/null || missing+=(openssl)
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

ensure_postgres
ensure_nats
ensure_server_binaries
ensure_python_tools
ensure_web_tools

if ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest"
    cargo install --locked cargo-nextest
fi

for tool in fmt clippy; do
    if ! cargo "$tool" --version >/dev/null 2>&1; then
        log "installing the $tool component"
        rustup component add "$([ "$tool" = fmt ] && echo rustfmt || echo clippy)"
    fi
done

log "checking tracked files for secrets"
scripts/check-secrets.sh

if [ -x deploy/check.sh ]; then
    log "checking the nginx config and the compose file"
    deploy/check.sh
fi

status=0
# Formatting and lints: a finding fails the run, after the tests have run
# (so one run shows everything). Only with the whole suite.
if [ $# -eq 0 ]; then
    log "checking formatting (cargo fmt --check)"
    cargo fmt --all --check || status=1
    (cd fuzz && cargo fmt --check) || status=1
    log "checking lints (cargo clippy, warnings are errors)"
    cargo clippy --workspace --all-targets --quiet -- -D warnings || status=1
fi

log "running the test suite"
cargo nextest run --workspace --no-fail-fast "$@" || status=1

# The CSV parser's fuzz targets, for a bounded time (FUZZ_SECONDS per
# target, 0 to skip); only with the whole suite, not for a chosen subset.
if [ $# -eq 0 ] && [ "${FUZZ_SECONDS:-60}" != 0 ]; then
    log "fuzzing the CSV parser (scripts/fuzz.sh)"
    scripts/fuzz.sh || status=1
fi
exit "$status"
