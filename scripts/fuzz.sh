#!/usr/bin/env bash
# Fuzzes the CSV loader's parser (crates/loader-csv) with cargo-fuzz
# (libFuzzer) for a bounded time, and fails on any crash, broken promise
# (see supermarket_loader_csv::contract) or hang.
#
#   scripts/fuzz.sh                    # every target, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh purchases
#   FUZZ_CORPUS=fuzz/corpus scripts/fuzz.sh   # keep what was learnt (git-ignored)
#
# Targets: purchases (the purchases file against data/'s catalog and
# branches) and files (products, branches and purchases files together).
# Each run starts from the committed seeds (fuzz/seeds/<target>) and the
# dictionary (fuzz/dict/csv.dict); the corpus it grows goes to a temporary
# directory unless FUZZ_CORPUS names one. A failing input is saved under
# fuzz/artifacts/<target>/: replay it with the command printed, then add it
# to crates/loader-csv/tests/fuzz_findings.rs once fixed.
#
# Stable Rust: the targets are built without a sanitizer (`-s none`), which
# needs no nightly flag; the parser has no unsafe code, so AddressSanitizer
# would add little. To use it anyway on stable: FUZZ_SANITIZER=address with
# RUSTC_BOOTSTRAP=1 in the environment (slower build and runs; delete
# fuzz/target first if a build without RUSTC_BOOTSTRAP failed there).
set -euo pipefail

cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
SANITIZER="${FUZZ_SANITIZER:-none}"
MAX_LEN="${FUZZ_MAX_LEN:-4096}"
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(purchases files)

log() { printf '\033[1m[fuzz]\033[0m %s\n' "$*" >&2; }

if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

started=$(date +%s)
log "building ${TARGETS[*]} (sanitizer: $SANITIZER)"
for target in "${TARGETS[@]}"; do
    cargo fuzz build --fuzz-dir fuzz -s "$SANITIZER" "$target"
done
log "built in $(( $(date +%s) - started )) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for target in "${TARGETS[@]}"; do
    corpus="${FUZZ_CORPUS:+$FUZZ_CORPUS/$target}"
    corpus="${corpus:-$work/corpus-$target}"
    mkdir -p "$corpus"
    log "fuzzing $target for $SECONDS_PER_TARGET s"
    # -timeout: one input running for 10 s is a hang.
    if ! cargo fuzz run --fuzz-dir fuzz -s "$SANITIZER" "$target" "$corpus" "fuzz/seeds/$target" -- \
        -dict=fuzz/dict/csv.dict -max_len="$MAX_LEN" -timeout=10 \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
        >"$work/$target.log" 2>&1; then
        tail -n 60 "$work/$target.log" >&2
        log "$target FAILED: the input is in fuzz/artifacts/$target/"
        exit 1
    fi
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
        "$work/$target.log" >&2 || true
done
log "done in $(( $(date +%s) - started )) s"
