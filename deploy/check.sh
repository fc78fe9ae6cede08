#!/usr/bin/env bash
# Static checks of the deployment files (no Docker engine needed):
#   1. the nginx template renders and `nginx -t` accepts it (one and three
#      purchases replicas, extra plain ports);
#   2. compose.yaml is valid (`docker-compose config -q`), and no container
#      runs as root (deploy/check-containers.py);
#   3. the shell scripts and the compose test's probe parse.
# The image itself is built for real, and the stack run through its whole life
# cycle, by deploy/compose-test.sh (CI runs it after the test suite).
# Installs Debian's nginx, openssl and docker-compose when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[deploy-check]\033[0m %s\n' "$*" >&2; }
need() {
    local missing=()
    for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}"); done
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" = 0 ]; then
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
    else
        log "missing: ${missing[*]} (Debian packages); install them and re-run"; exit 1
    fi
}
need nginx:nginx openssl:openssl envsubst:gettext-base docker-compose:docker-compose

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

render_and_test() {
    local name=$1; shift
    env "$@" NGINX_STATE_DIR="$work/$name/state" NGINX_ACCESS_LOG="$work/$name/access.log" NGINX_ERROR_LOG="$work/$name/error.log" \
        deploy/nginx/render.sh "$work/$name/nginx.conf" 2>/dev/null
    nginx -t -q -c "$work/$name/nginx.conf" -e "$work/$name/error.log" \
        || { log "nginx -t failed for $name"; cat "$work/$name/error.log" >&2; exit 1; }
    log "nginx config ok ($name)"
}
mkdir -p "$work/one" "$work/three"
render_and_test one HTTP_PORT=18080 HTTPS_PORT=18443
render_and_test three HTTP_PORT=18081 HTTPS_PORT=18444 PLAIN_PORTS="18000 18001" \
    PURCHASES_UPSTREAMS="127.0.0.1:8000 127.0.0.1:8010 127.0.0.1:8020"

docker-compose -f compose.yaml config -q
log "compose.yaml ok"

# No container runs as root (deploy/check-containers.py says what it checks).
# It needs PyYAML: the python3 on PATH, docker-compose's own interpreter, or Debian's.
yaml_python=
for candidate in python3 "$(sed -n '1s/^#! *//p' "$(command -v docker-compose)" 2>/dev/null)" /usr/bin/python3; do
    if [ -n "$candidate" ] && $candidate -c 'import yaml' 2>/dev/null; then yaml_python=$candidate; break; fi
done
if [ -z "$yaml_python" ]; then
    [ "$(id -u)" = 0 ] || { log "missing: python3-yaml (Debian package); install it and re-run"; exit 1; }
    log "installing python3-yaml"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-yaml >/dev/null
    yaml_python=/usr/bin/python3
fi
docker-compose -f compose.yaml config | $yaml_python deploy/check-containers.py Dockerfile
log "no container runs as root (Dockerfile USER, compose users, capabilities, read-only app containers)"

for script in deploy/nginx/*.sh deploy/docker/*.sh deploy/compose-test/stand-ins/*/*.sh; do sh -n "$script"; done
for script in deploy/*.sh; do bash -n "$script"; done
python3 -m py_compile deploy/compose-test/probe.py
log "shell scripts and the compose test's probe parse"
