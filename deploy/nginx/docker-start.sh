#!/bin/sh
# Start of the nginx container (unprivileged: no root, ports above 1024):
# render the config into the writable state folder, then run nginx in the
# foreground. The certificate comes from the `secrets` volume. Scripts are
# run with `sh`, so a checkout without executable bits works too.
set -eu
export NGINX_STATE_DIR="${NGINX_STATE_DIR:-/tmp/supermarket-nginx}"
state=$NGINX_STATE_DIR
mkdir -p "$state"
sh /etc/supermarket-nginx/render.sh "$state/nginx.conf"
exec nginx -c "$state/nginx.conf" -e "${NGINX_ERROR_LOG:-/dev/stderr}" -g 'daemon off;'
