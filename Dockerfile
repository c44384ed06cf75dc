# genesys-cloud-exporter container image:
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse --short=12 HEAD)" \
#     -t genesys-cloud-exporter:0.1.0 .
#   docker run -p 9471:9471 genesys-cloud-exporter:0.1.0 --demo
#
# VERSION and REVISION become the image's OCI labels (the release workflow passes the
# tag and the commit); REVISION also reaches `genesys_exporter_build_info`.
#
# Two stages: a Rust builder that runs the same `cargo build --release --locked` as CI,
# and a distroless runtime with the binary, glibc and CA certificates, no shell.

# Debian 12 (bookworm), like the runtime, so the binary finds the glibc it was linked
# against. A static musl build for `scratch` would need its own target (not what CI
# builds) and musl's slower allocator, for a saving of a few MB.
FROM docker.io/library/rust:1.95-bookworm AS builder
WORKDIR /build

# Dependencies first, in a layer of their own: with only the manifests and stub sources,
# `cargo build` compiles every dependency, and Docker reuses this layer until Cargo.toml
# or Cargo.lock change. The stub trick rather than cargo-chef: one crate and no
# workspace, so it needs no extra tool in the build.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir src \
    && echo 'fn main() {}' >src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# The real sources. `touch` makes them newer than the stubs' build, whatever times COPY
# gave them, so cargo rebuilds the crate instead of keeping the stub binary.
# build.rs reads the revision from git, which the build context leaves out: it comes
# from the REVISION build argument instead, for `genesys_exporter_build_info`.
ARG REVISION=unknown
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && GENESYS_EXPORTER_REVISION="$REVISION" cargo build --release --locked

# distroless/cc: glibc, libgcc and CA certificates (the exporter reads the system roots
# to reach Genesys over HTTPS); no shell, no package manager. :nonroot runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=unknown
ARG REVISION=unknown
LABEL org.opencontainers.image.title="genesys-cloud-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Genesys Cloud CX contact-center analytics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"
COPY --from=builder /build/target/release/genesys-cloud-exporter /usr/local/bin/genesys-cloud-exporter
USER 65532:65532
EXPOSE 9471
# The binary checks itself: the image has no shell and no curl. Kubernetes ignores this
# and probes /-/healthy and /-/ready (deploy/kubernetes/base/deployment.yaml).
HEALTHCHECK --interval=30s --timeout=10s --retries=3 \
  CMD ["/usr/local/bin/genesys-cloud-exporter", "healthcheck", "--url", "http://127.0.0.1:9471/-/healthy"]
ENTRYPOINT ["/usr/local/bin/genesys-cloud-exporter"]
