#!/bin/sh
# One-shot `secrets` service: on first start, generates the database
# passwords, the owner and cashier tokens and a self-signed TLS certificate
# into the /secrets volume; later starts keep them. A value given in the
# environment (e.g. from .env) wins over a generated one.
#
# A database password is different: PostgreSQL reads it only when its volume
# is first made. A POSTGRES_PASSWORD or ANALYTICS_POSTGRES_PASSWORD that no
# longer matches the stored one would lock every service out, so this stops
# with the way to change it (`docker compose run --rm secrets rotate` once the
# role's password is altered in the database).
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

rotate=
[ "${1:-}" = rotate ] && rotate=1

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

# keep_password FILE SETTING VALUE SERVICE: as keep_or_make, but a value that
# differs from the one the database was created with stops, unless rotating.
keep_password() {
    file="$dir/$1"
    if [ -n "$3" ] && [ -s "$file" ] && [ "$(cat "$file")" != "$3" ] && [ -z "$rotate" ]; then
        cat >&2 <<MSG
secrets: $2 differs from the password the $4 database was created with.
  PostgreSQL reads $2 only when its volume is new, so the services would be
  locked out. To change it, alter the role first, then store the new value:
    docker compose exec $4 psql -U supermarket -d postgres -c "ALTER ROLE supermarket PASSWORD '<new password>'"
    docker compose run --rm secrets rotate        # with $2=<new password> in .env
    docker compose up -d --force-recreate
  Or remove $2 from .env to keep the current password.
MSG
        exit 1
    fi
    keep_or_make "$1" "$3"
}

keep_password postgres_password POSTGRES_PASSWORD "${POSTGRES_PASSWORD:-}" postgres
keep_password analytics_postgres_password ANALYTICS_POSTGRES_PASSWORD "${ANALYTICS_POSTGRES_PASSWORD:-}" analytics-db
keep_or_make owner_token "${OWNER_TOKEN:-}"
keep_or_make cashier_token "${CASHIER_TOKEN:-}"

# Every byte as %XX: a URL carries any password, whatever characters it has.
percent_encode() {
    od -An -v -tx1 "$1" | tr -d ' \n' | sed 's/../%&/g'
}

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
DATABASE_URL=postgres://$db_user:$(percent_encode "$dir/postgres_password")@postgres:5432/${POSTGRES_DB:-supermarket}
ANALYTICS_DATABASE_URL=postgres://$db_user:$(percent_encode "$dir/analytics_postgres_password")@analytics-db:5432/${ANALYTICS_POSTGRES_DB:-supermarket_analytics}
OWNER_TOKEN=$(cat "$dir/owner_token")
CASHIER_TOKEN=$(cat "$dir/cashier_token")
ENV
chmod 0440 "$dir/runtime.env.tmp"
mv "$dir/runtime.env.tmp" "$dir/runtime.env"
echo "secrets: ready (read the tokens with: docker compose exec purchases cat /secrets/owner_token /secrets/cashier_token)"
