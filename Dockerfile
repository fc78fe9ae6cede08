# syntax=docker/dockerfile:1
# One image, one binary (`supermarket`), every service: compose picks the
# subcommand. Stages: planner (dependency skeleton) → deps (compiled
# dependencies, cached while no Cargo.toml/Cargo.lock changes) → build → a
# small non-root runtime.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS toolchain
WORKDIR /src

# The manifests, the lock file and empty sources: only this output feeds the
# dependency layer, so editing code does not rebuild the dependencies.
FROM toolchain AS planner
COPY . .
RUN sh deploy/docker/skeleton.sh /skeleton

FROM toolchain AS deps
COPY --from=planner /skeleton/ ./
RUN cargo build --release -p supermarket --bin supermarket

FROM deps AS build
COPY . .
# The real sources may be older than the stubs built above: make cargo see them.
RUN find crates -name '*.rs' -exec touch {} + \
 && cargo build --release -p supermarket --bin supermarket \
 && install -m 0755 target/release/supermarket /usr/local/bin/supermarket

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl openssl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 supermarket \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --create-home --shell /usr/sbin/nologin supermarket \
 && install -d -o 10001 -g 10001 /lake /secrets /nats-data
COPY --from=build /usr/local/bin/supermarket /usr/local/bin/supermarket
COPY deploy/docker/entrypoint.sh /usr/local/bin/entrypoint
COPY deploy/docker/init-secrets.sh /usr/local/bin/init-secrets
# Owned by root: the services read the CSV files, never change them.
COPY data /app/data
WORKDIR /app
# Numeric, so that a runtime can check it is not root without reading /etc/passwd.
# /lake, /secrets and /nats-data belong to this user: an empty named volume
# mounted there takes that ownership, so no container needs root to write it.
USER 10001:10001
ENV LOG_FORMAT=json
ENTRYPOINT ["entrypoint"]
CMD ["--help"]
