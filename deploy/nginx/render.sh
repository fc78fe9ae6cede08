#!/bin/sh
# Renders nginx.conf.template into a runnable nginx.conf.
#
#   deploy/nginx/render.sh OUTPUT_FILE
#
# Settings (environment, with defaults):
#   PURCHASES_UPSTREAMS  space-separated host:port of every purchases replica (127.0.0.1:8000)
#                        A name that resolves to several addresses (docker compose's
#                        `purchases` service scaled to 3) counts as several replicas.
#   PRODUCTS_UPSTREAMS   (127.0.0.1:8002)     ANALYTICS_UPSTREAMS (127.0.0.1:8001)
#   HTTP_PORT (80; empty: none)  plain HTTP that redirects to HTTPS (keeps /health)
#   HTTPS_PORT (443)  HTTPS_PUBLIC_PORT (HTTPS_PORT, for redirects)
#   PLAIN_PORTS          extra plain-HTTP ports serving the same routes as HTTPS ("")
#   TLS_CERT, TLS_KEY    certificate files; a self-signed pair is made there when absent
#                        (default: NGINX_STATE_DIR/tls.crt and tls.key)
#   NGINX_STATE_DIR      pid and temp files (/var/lib/supermarket-nginx)
#   NGINX_ACCESS_LOG (/dev/stdout)  NGINX_ERROR_LOG (/dev/stderr)  NGINX_USER (unset: no `user` line)
#   WRITE_RATE_LIMIT (200r/s)  WRITE_BURST (400)  LOGIN_RATE_LIMIT (10r/m)  LOGIN_BURST (5)
#   UPSTREAM_RESOLVER    a DNS server (docker's is 127.0.0.11): the upstream names are
#                        then re-resolved while nginx runs (every UPSTREAM_RESOLVE_VALID,
#                        default 2s), so a `--scale purchases=3` or a recreated replica
#                        is picked up without a restart. Needs nginx 1.27.3 or later.
#                        Empty (default): names are resolved once, at start.
set -eu

out=${1:?usage: render.sh OUTPUT_FILE}
here=$(cd "$(dirname "$0")" && pwd)

RESOLVE_PARAM=""
RESOLVER_LINE=""
if [ -n "${UPSTREAM_RESOLVER:-}" ]; then
    RESOLVE_PARAM=" resolve"
    RESOLVER_LINE="resolver ${UPSTREAM_RESOLVER} valid=${UPSTREAM_RESOLVE_VALID:-2s} ipv6=off;
    resolver_timeout 2s;"
fi
export RESOLVER_LINE

servers() {
    for target in $1; do
        printf '        server %s max_fails=3 fail_timeout=5s%s;\n' "$target" "$RESOLVE_PARAM"
    done
}

export NGINX_STATE_DIR="${NGINX_STATE_DIR:-/var/lib/supermarket-nginx}"
export PURCHASES_SERVERS="$(servers "${PURCHASES_UPSTREAMS:-127.0.0.1:8000}")"
export PRODUCTS_SERVERS="$(servers "${PRODUCTS_UPSTREAMS:-127.0.0.1:8002}")"
export ANALYTICS_SERVERS="$(servers "${ANALYTICS_UPSTREAMS:-127.0.0.1:8001}")"
HTTP_PORT="${HTTP_PORT-80}"
export HTTPS_PORT="${HTTPS_PORT:-443}"
export HTTPS_PUBLIC_PORT="${HTTPS_PUBLIC_PORT:-$HTTPS_PORT}"
REDIRECT_SERVER=""
if [ -n "$HTTP_PORT" ]; then
    # Plain HTTP: send browsers to HTTPS, keep /health for probes.
    REDIRECT_SERVER="    server {
        listen $HTTP_PORT;
        location = /health { default_type application/json; return 200 '{\"status\":\"ok\"}'; }
        location / { return 308 https://\$host:$HTTPS_PUBLIC_PORT\$request_uri; }
    }"
fi
export REDIRECT_SERVER
PLAIN_LISTEN=""
for port in ${PLAIN_PORTS:-}; do
    PLAIN_LISTEN="$PLAIN_LISTEN        listen $port;
"
done
export PLAIN_LISTEN
export TLS_CERT="${TLS_CERT:-$NGINX_STATE_DIR/tls.crt}"
export TLS_KEY="${TLS_KEY:-$NGINX_STATE_DIR/tls.key}"
export NGINX_ACCESS_LOG="${NGINX_ACCESS_LOG:-/dev/stdout}"
export NGINX_ERROR_LOG="${NGINX_ERROR_LOG:-/dev/stderr}"
if [ -n "${NGINX_USER:-}" ]; then export NGINX_USER_LINE="user $NGINX_USER;"; else export NGINX_USER_LINE=""; fi
export WRITE_RATE_LIMIT="${WRITE_RATE_LIMIT:-200r/s}"
export WRITE_BURST="${WRITE_BURST:-400}"
export LOGIN_RATE_LIMIT="${LOGIN_RATE_LIMIT:-10r/m}"
export LOGIN_BURST="${LOGIN_BURST:-5}"

for dir in "$NGINX_STATE_DIR" "$NGINX_STATE_DIR/client_body" "$NGINX_STATE_DIR/proxy" "$NGINX_STATE_DIR/fastcgi" "$NGINX_STATE_DIR/uwsgi" "$NGINX_STATE_DIR/scgi"; do
    mkdir -p "$dir"
done

if [ ! -s "$TLS_CERT" ] || [ ! -s "$TLS_KEY" ]; then
    command -v openssl >/dev/null || { echo "render.sh: no certificate at TLS_CERT=$TLS_CERT and no openssl to make one (Debian package: openssl)" >&2; exit 1; }
    echo "render.sh: no certificate given, making a self-signed one at $TLS_CERT" >&2
    mkdir -p "$(dirname "$TLS_CERT")" "$(dirname "$TLS_KEY")"
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$TLS_KEY" -out "$TLS_CERT" 2>/dev/null
    chmod 600 "$TLS_KEY"
fi

# Only our names are substituted; nginx's $variables stay as they are.
vars='${NGINX_USER_LINE} ${NGINX_STATE_DIR} ${NGINX_ERROR_LOG} ${NGINX_ACCESS_LOG} ${WRITE_RATE_LIMIT} ${LOGIN_RATE_LIMIT}
${PURCHASES_SERVERS} ${PRODUCTS_SERVERS} ${ANALYTICS_SERVERS} ${REDIRECT_SERVER} ${HTTPS_PORT} ${PLAIN_LISTEN}
${TLS_CERT} ${TLS_KEY} ${LOGIN_BURST} ${WRITE_BURST} ${RESOLVER_LINE}'
envsubst "$vars" < "$here/nginx.conf.template" > "$out"
