#!/usr/bin/env bash
# Ingest benchmark: PostgreSQL ceiling vs end-to-end POS ingest, through the
# purchases service alone and then with the whole pipeline running (relay,
# analytics consumer, lake sink; NATS at NATS_URL).
#
# Builds the driver in release mode and runs it against a fresh database on
# the PostgreSQL server of BENCH_ADMIN_URL (default: local, user postgres).
# Load goes to 127.0.0.1 only and each level is bounded in time.
#
#   bench/ingest/run.sh                           # defaults: concurrency 16,64,256, 10 s each
#   bench/ingest/run.sh --concurrency 64 --seconds 5 --writers 2 --batch-wait-ms 1
#   bench/ingest/run.sh --generator simulator     # without wrk
#   bench/ingest/run.sh --pipeline purchases      # the purchases service alone only
#
# Any argument is passed to `ingest all` (see --help).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p supermarket-dev-tools --bin bench-ingest
exec target/release/bench-ingest all "$@"
