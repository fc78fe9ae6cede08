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
 && useradd --system --uid 10001 --user-group --home-dir /app --create-home --shell /usr/sbin/nologin supermarket \
 && install -d -o supermarket -g supermarket /lake
COPY --from=build /usr/local/bin/supermarket /usr/local/bin/supermarket
COPY deploy/docker/entrypoint.sh /usr/local/bin/entrypoint
COPY deploy/docker/init-secrets.sh /usr/local/bin/init-secrets
COPY --chown=supermarket:supermarket data /app/data
WORKDIR /app
USER supermarket
ENV LOG_FORMAT=json
ENTRYPOINT ["entrypoint"]
CMD ["--help"]
