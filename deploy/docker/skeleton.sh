#!/bin/sh
# Writes to OUT_DIR a copy of the workspace with every manifest and the lock
# file but empty sources: enough for `cargo build` to compile (and Docker to
# cache) the dependencies alone. A hand-made cargo-chef.
#
#   deploy/docker/skeleton.sh OUT_DIR      (run from the repository root)
set -eu
out=${1:?usage: skeleton.sh OUT_DIR}
mkdir -p "$out"
cp Cargo.toml Cargo.lock "$out/"
for manifest in crates/*/Cargo.toml; do
    dir=$(dirname "$manifest")
    mkdir -p "$out/$dir"
    cp "$manifest" "$out/$dir/"
    # Every target file a manifest may name must exist; binaries need a main.
    find "$dir" -name '*.rs' -not -path '*/target/*' | while read -r file; do
        mkdir -p "$out/$(dirname "$file")"
        case "$file" in
            */src/main.rs|*/src/bin/*|*/benches/*|*/examples/*|*/tests/*) echo 'fn main() {}' > "$out/$file" ;;
            *) : > "$out/$file" ;;
        esac
    done
done
