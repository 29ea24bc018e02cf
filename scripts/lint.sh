#!/usr/bin/env bash
# The gate on formatting and lints (CI runs it first): rustfmt as rustfmt.toml says, and clippy
# with every warning an error, for the host crates and the console as the browser runs it
# (wasm32); the fuzz targets (their own workspace) are formatted too. Fix with `cargo fmt --all` and the hints clippy prints.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_build_deps
ensure_wasm_target
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy

say "cargo fmt --check"
cargo fmt --all --check
(cd fuzz && cargo fmt --check)

say "cargo clippy -D warnings (host crates, tests and benches)"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "cargo clippy -D warnings (the console on wasm32)"
cargo clippy -p gatehouse-console --target wasm32-unknown-unknown --locked -- -D warnings
