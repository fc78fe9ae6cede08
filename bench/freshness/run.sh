#!/usr/bin/env bash
# Freshness benchmark: delay between a purchase committed by the purchases
# service and its visibility in the analytics API, under background load.
# Runs every service in-process on 127.0.0.1 against fresh databases on the
# server of BENCH_ADMIN_URL and a fresh stream on NATS_URL (both local by
# default); everything is dropped at the end.
#
#   bench/freshness/run.sh                              # 500 purchases/s, 20 probes/s, 20 s
#   bench/freshness/run.sh --rate 1500 --seconds 30
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p supermarket-dev-tools --bin bench-freshness
exec target/release/bench-freshness "$@"
