#!/usr/bin/env bash
# Analytics API benchmark: fills the read models at the scale of 10 million
# purchases (3 million customers) in a database `bench_analytics` on the
# server of BENCH_ADMIN_URL (default: local, user postgres), serves the API
# in-process on 127.0.0.1 and measures each endpoint with wrk (p50/p99).
#
#   bench/analytics/run.sh                          # 3M customers, 10 s per endpoint
#   bench/analytics/run.sh --keep                   # keep the database ...
#   bench/analytics/run.sh --reuse --seconds 5      # ... and skip the fill next time
#   bench/analytics/run.sh --customers 300000       # a smaller scale
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet -p supermarket-dev-tools --bin bench-analytics
exec target/release/bench-analytics "$@"
