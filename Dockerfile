# One image, one binary (`supermarket`), every service: compose picks the
# subcommand. Stages: chef (the Rust image with cargo-chef) → planner (the
# dependency recipe) → build (dependencies compiled from the recipe alone, so
# that layer stays cached while no manifest or Cargo.lock changes; then our
# crates) → a small non-root runtime.
#
#   docker build -t supermarket:latest .      # or let `docker compose up` build it

ARG RUST_VERSION=1.95
ARG CARGO_CHEF_VERSION=0.1.78

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
ARG CARGO_CHEF_VERSION
RUN cargo install --locked cargo-chef --version "${CARGO_CHEF_VERSION}" \
 && rm -rf "${CARGO_HOME}/registry" "${CARGO_HOME}/git"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
# No debug line tables in the image (a third of the binary's size); set for
# both the dependencies and our crates, so the cached layer stays valid.
ENV CARGO_PROFILE_RELEASE_DEBUG=false
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json -p supermarket --bin supermarket
COPY . .
RUN cargo build --release --locked -p supermarket --bin supermarket \
 && install -m 0755 target/release/supermarket /usr/local/bin/supermarket

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl openssl \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 supermarket \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --create-home --shell /usr/sbin/nologin supermarket \
 && install -d -o 10001 -g 10001 /lake /secrets /nats-data
COPY --from=build /usr/local/bin/supermarket /usr/local/bin/supermarket
COPY deploy/docker/entrypoint.sh /usr/local/bin/entrypoint
COPY deploy/docker/init-secrets.sh /usr/local/bin/init-secrets
# Executable whatever the checkout did with file modes (core.fileMode, Windows).
RUN chmod 0755 /usr/local/bin/entrypoint /usr/local/bin/init-secrets
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
