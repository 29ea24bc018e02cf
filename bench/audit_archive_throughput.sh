#!/usr/bin/env bash
# Archive throughput: fills a fresh database's audit chain with N valid events through the
# server's own append (bench/src/bin/audit_storage.rs --append-only: the storage benchmark's
# realistic mix of grants, sign-ins, failures, denials, changes and access summaries), then
# times `gatehouse audit archive` (segments written, signed, fsynced, events deleted) and
# `gatehouse audit verify --archive`.
#
#   bench/audit_archive_throughput.sh [N] [sqlite|postgres]   (default 200000 sqlite)
# Builds the release server and helpers; needs PostgreSQL at 127.0.0.1:5432 for postgres.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p gatehouse -p gatehouse-bench  # as bench/run.sh: the same features, no rebuild between them
N=${1:-200000}
BACKEND=${2:-sqlite}
BIN=${GATEHOUSE_BIN:-target/release/gatehouse}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export GATEHOUSE_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
if [ "$BACKEND" = postgres ]; then
    DBNAME="archive_bench_$$"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DBNAME"
    trap 'psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $DBNAME" >/dev/null; rm -rf "$WORK"' EXIT
    export GATEHOUSE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DBNAME"
else
    export GATEHOUSE_DATABASE_URL="sqlite://$WORK/g.db"
fi
RUST_LOG=warn "$BIN" migrate >/dev/null

target/release/audit_storage --append-only "$GATEHOUSE_DATABASE_URL" "$N"
sleep 1  # the cut is now: every appended event lies before it
echo "$BACKEND: $N events in the live chain"
RUST_LOG=warn "$BIN" audit archive --before "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --out "$WORK/archive" | tail -1
du -sh "$WORK/archive" | awk '{print "archive size: " $1}'
start=$(date +%s.%N)
RUST_LOG=warn "$BIN" audit verify --archive "$WORK/archive"
end=$(date +%s.%N)
python3 -c "print('verify --archive: %.1f s (%.0f events/s)' % ($end - $start, $N / ($end - $start)))"
