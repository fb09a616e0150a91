# pxos in a container, for the Kubernetes Indexed Job in docs/CLUSTER.md (or any host
# without a Rust toolchain). Two stages: the Rust image builds a release pxos, and a slim
# Debian of the same release runs it (pxos needs only the C library).
#
#   docker build -t pxos .
#   docker run --rm pxos batch /usr/local/share/pxos/kernels --fuel 100000
#   docker run --rm -v "$PWD:/data" pxos batch /data/kernels --out /data/results/all.jsonl
#
# The Rust release must be at least the workspace's rust-version (Cargo.toml).
ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin pxos \
 && install -m 0755 target/release/pxos /usr/local/bin/pxos

FROM debian:${DEBIAN_RELEASE}-slim
COPY --from=build /usr/local/bin/pxos /usr/local/bin/pxos
# The repository's kernels (a corpus to try a batch on) and the cluster job scripts.
COPY kernels /usr/local/share/pxos/kernels
COPY docs/cluster /usr/local/share/pxos/cluster
RUN pxos --version
WORKDIR /data
ENTRYPOINT ["pxos"]
CMD ["--help"]
