#!/bin/sh
# As the official image: templates rendered with envsubst, then the command.
set -e
if [ "${1:-}" = nginx ]; then
    template_dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
    output_dir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
    suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
    vars=$(printf '${%s} ' $(env | cut -d= -f1))
    for template in "$template_dir"/*"$suffix"; do
        [ -f "$template" ] || continue
        name=$(basename "$template" "$suffix")
        envsubst "$vars" < "$template" > "$output_dir/$name"
    done
fi
exec "$@"
