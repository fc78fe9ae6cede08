#!/usr/bin/env bash
# Fault-injection ("chaos") suite at full size: the platform as separate
# processes on this machine (a private PostgreSQL and nats-server started
# for the run, two purchases instances, the relay, the analytics consumer),
# simulated tills selling through it, and every part killed and restarted
# during the load, one at a time and then together, round after round.
# Prints a Markdown report and exits non-zero if a purchase was lost or
# counted twice, a fault did not recover within the target, or a service
# stopped on its own. See bench/chaos/README.md.
#
#   bench/chaos/run.sh                          # 5 rounds, 200 sales/s
#   bench/chaos/run.sh --rounds 10 --rate 400   # --help for every flag
#
# Needs PostgreSQL's server binaries (CHAOS_PG_BINDIR to choose), nats-server
# (CHAOS_NATS_SERVER) and Python with duckdb (CHAOS_PYTHON; scripts/test.sh
# prepares target/test-venv, used when present).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p supermarket -p supermarket-dev-tools --bin supermarket --bin chaos
if [ -z "${CHAOS_PYTHON:-}" ] && [ -x target/test-venv/bin/python3 ]; then
    export CHAOS_PYTHON="$PWD/target/test-venv/bin/python3"
fi
exec target/release/chaos --supermarket target/release/supermarket "$@"
