#!/usr/bin/env bash
# Benchmark of `supermarket load`: generates a synthetic purchases file in
# the original format (BOM, CRLF, 3 branches, the 10 products, 2-4 items,
# returning customers, microsecond timestamps), loads it into a fresh
# database with the release build, prints seconds and rows/s, then drops the
# database.
#
#   bench/load/run.sh [ROWS] [CUSTOMERS]       (defaults: 10000000, 30% of ROWS)
#
# Settings: BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# the server the throwaway databases are created on; LOADER_BIN to time a
# command already built instead of building the CLI, e.g.
# LOADER_BIN="target/release/supermarket load", or
# LOADER_BIN=target/release/examples/load (the same loader without the rest
# of the platform, quicker to build). Generated files go to bench/out/load/
# (git-ignored) and are reused across runs.
set -euo pipefail

rows="${1:-10000000}"
customers="${2:-$((rows * 3 / 10))}"
admin_url="${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out="bench/out/load"
mkdir -p "$out"
file="$out/purchases_${rows}.csv"

if [[ ! -s "$file" ]]; then
    echo "generating $rows rows ($customers customers) into $file"
    cargo run --quiet --release -p supermarket-loader --example gen_purchases -- \
        --rows "$rows" --customers "$customers" --out "$file"
fi

if [[ -z "${LOADER_BIN:-}" ]]; then
    cargo build --quiet --release -p supermarket
    loader=(target/release/supermarket load)
    migrate=(target/release/supermarket migrate)
else
    read -r -a loader <<< "$LOADER_BIN"
    migrate=(target/release/supermarket migrate)
    [[ -x target/release/supermarket ]] || migrate=(target/debug/supermarket migrate)
fi

db="bench_load_$$"
base="${admin_url%/*}"
params=""
[[ "$admin_url" == *\?* ]] && params="?${admin_url#*\?}"
export DATABASE_URL="$base/$db$params"
export ANALYTICS_DATABASE_URL="$base/${db}_analytics$params"
cleanup() {
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${db}_analytics WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql "$admin_url" -qc "CREATE DATABASE $db" -c "CREATE DATABASE ${db}_analytics"
"${migrate[@]}" >/dev/null 2>&1

echo "loading $file ($(du -h "$file" | cut -f1)) with ${loader[*]}"
export LOG_FORMAT=pretty NO_COLOR=1 RUST_LOG="${RUST_LOG:-info,supermarket_loader=info}"
start=$(date +%s.%N)
"${loader[@]}" --purchases "$file" --no-progress 2> "$out/load_${rows}.log"
end=$(date +%s.%N)
# Where the time went, from the loader's own phase timings.
grep -E "staged|selected|locked|stored|dropped|rebuilt|committed" "$out/load_${rows}.log" | sed -E 's/^.*INFO [^ ]+ //' || true
awk -v rows="$rows" -v s="$start" -v e="$end" \
    'BEGIN { t = e - s; printf "BENCH load rows=%d seconds=%.1f rows_per_second=%.0f\n", rows, t, rows / t }'
psql "$DATABASE_URL" -Atc "SELECT 'sizes: ' || pg_size_pretty(pg_database_size(current_database())) || ' database, '
    || (SELECT count(*) FROM purchases) || ' purchases, ' || (SELECT count(*) FROM purchase_items) || ' items'"
