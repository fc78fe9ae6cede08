#!/bin/sh
# Start of the nginx container: render the config, then run nginx in the
# foreground. The certificate comes from the `secrets` volume.
set -eu
/etc/supermarket-nginx/render.sh /etc/nginx/nginx.conf
exec nginx -g 'daemon off;'
