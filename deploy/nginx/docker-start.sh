#!/bin/sh
# Start of the nginx container (unprivileged: no root, ports above 1024):
# render the config into the writable state folder, then run nginx in the
# foreground. The certificate comes from the `secrets` volume.
set -eu
export NGINX_STATE_DIR="${NGINX_STATE_DIR:-/tmp/supermarket-nginx}"
state=$NGINX_STATE_DIR
mkdir -p "$state"
/etc/supermarket-nginx/render.sh "$state/nginx.conf"
exec nginx -c "$state/nginx.conf" -e "${NGINX_ERROR_LOG:-/dev/stderr}" -g 'daemon off;'
