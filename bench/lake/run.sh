#!/usr/bin/env bash
# Lake write throughput: publishes a backlog of purchase events to a
# throwaway JetStream stream, times the lake sink draining it into a
# throwaway lake folder, and times the Parquet encoding alone. Uses the local
# PostgreSQL and NATS (DATABASE_URL, NATS_URL); everything is removed at the end.
#
#   bench/lake/run.sh                    # 200000 events, rolls of 100000
#   bench/lake/run.sh 50000 10000        # [events] [roll events]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p supermarket-dev-tools --bin bench-lake
exec target/release/bench-lake "$@"
