# The gatehouse binary (API, OAuth/OIDC, console assets embedded) on a slim Debian.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The console first (wasm target, wasm-bindgen-cli, wasm-opt), then the server that embeds it.
RUN ./scripts/build-console.sh && cargo build --release --locked -p gatehouse

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 gatehouse
COPY --from=build /src/target/release/gatehouse /usr/local/bin/gatehouse
USER gatehouse
EXPOSE 8080
ENV GATEHOUSE_BIND=0.0.0.0:8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["gatehouse"]
CMD ["serve"]
