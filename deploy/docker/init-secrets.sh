#!/bin/sh
# One-shot `secrets` service: on first start, generates the database
# passwords, the owner and cashier tokens and a self-signed TLS certificate
# into the /secrets volume; later starts keep them. A value given in the
# environment (e.g. from .env) wins over a generated one.
#
# Runs as the image's unprivileged user (uid/gid 10001). Every file is 0440:
# readable by that user (the services) and its group, which the postgres and
# nginx containers join (compose `group_add`); the TLS certificate is public.
set -eu
dir=${SECRETS_DIR:-/secrets}
umask 027

# Volumes made by an older, root-run version of this service belong to root.
for volume in "$dir" ${EXTRA_WRITABLE_DIRS:-}; do
    mkdir -p "$volume" 2>/dev/null || true
    if [ ! -w "$volume" ]; then
        echo "secrets: $volume is not writable by uid $(id -u): the volume was made by an older, root-run version." >&2
        echo "  Give it to uid $(id -u) once, e.g.: docker run --rm -v <volume>:/v debian:bookworm-slim chown -R $(id -u):$(id -g) /v" >&2
        exit 1
    fi
done

# keep_or_make FILE [VALUE]: FILE keeps its content; else VALUE; else random.
keep_or_make() {
    file="$dir/$1"
    if [ -n "${2:-}" ]; then
        # The old file is read-only (0440), even for its owner: replace it.
        rm -f "$file"
        printf '%s' "$2" > "$file"
    elif [ ! -s "$file" ]; then
        openssl rand -hex 24 | tr -d '\n' > "$file"
        echo "secrets: generated $1"
    fi
    chmod 0440 "$file"
}

keep_or_make postgres_password "${POSTGRES_PASSWORD:-}"
keep_or_make analytics_postgres_password "${ANALYTICS_POSTGRES_PASSWORD:-}"
keep_or_make owner_token "${OWNER_TOKEN:-}"
keep_or_make cashier_token "${CASHIER_TOKEN:-}"

if [ ! -s "$dir/tls.crt" ] || [ ! -s "$dir/tls.key" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=${TLS_COMMON_NAME:-localhost}" \
        -addext "subjectAltName=DNS:${TLS_COMMON_NAME:-localhost},DNS:localhost,IP:127.0.0.1" \
        -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
    chmod 0440 "$dir/tls.key"
    chmod 0444 "$dir/tls.crt"
    echo "secrets: generated a self-signed TLS certificate for ${TLS_COMMON_NAME:-localhost}"
fi

db_user=${POSTGRES_USER:-supermarket}
rm -f "$dir/runtime.env.tmp"
cat > "$dir/runtime.env.tmp" <<ENV
DATABASE_URL=postgres://$db_user:$(cat "$dir/postgres_password")@postgres:5432/${POSTGRES_DB:-supermarket}
ANALYTICS_DATABASE_URL=postgres://$db_user:$(cat "$dir/analytics_postgres_password")@analytics-db:5432/${ANALYTICS_POSTGRES_DB:-supermarket_analytics}
OWNER_TOKEN=$(cat "$dir/owner_token")
CASHIER_TOKEN=$(cat "$dir/cashier_token")
ENV
chmod 0440 "$dir/runtime.env.tmp"
mv "$dir/runtime.env.tmp" "$dir/runtime.env"
echo "secrets: ready (read the tokens with: docker compose exec purchases cat /secrets/owner_token /secrets/cashier_token)"
