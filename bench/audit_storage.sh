#!/usr/bin/env bash
# Audit storage benchmark (issue 13, ADR 0008): bytes per event (compact vs the old text form)
# and appended events/s for a realistic mix, then p50/p99 of a page of every audit filter.
# See bench/src/bin/audit_storage.rs for the mix and what each step measures.
#
#   bench/audit_storage.sh                     # bounded (CI): both backends, 20k appended, 200k total
#   bench/audit_storage.sh sqlite              # one backend
#   AUDIT_BENCH_TOTAL=10000000 AUDIT_BENCH_PAGES=100 bench/audit_storage.sh   # the 10M run, by hand
#
# On a shared machine, time the filters of a filled database again at real-time priority so
# that neighbours do not preempt a query (docs/performance.md, the 10M tables):
#   target/release/audit_storage sqlite:///tmp/a10m.db 20000 10000000 5          # fill, keep the file
#   chrt -f 50 target/release/audit_storage sqlite:///tmp/a10m.db 20000 10000000 100   # filters only
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib.sh

backends=("$@")
[ ${#backends[@]} -eq 0 ] && backends=(sqlite postgres)
events="${AUDIT_BENCH_EVENTS:-20000}"
total="${AUDIT_BENCH_TOTAL:-200000}"
pages="${AUDIT_BENCH_PAGES:-50}"
profile="${AUDIT_BENCH_PROFILE:-release}"

say "building the audit storage benchmark ($profile)"
if [ "$profile" = release ]; then
  cargo build --release --quiet -p gatehouse-bench --bin audit_storage
else
  cargo build --quiet -p gatehouse-bench --bin audit_storage
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for backend in "${backends[@]}"; do
  say "audit storage on $backend: $events appended, $total total, $pages pages per filter"
  fresh_database "$backend" "$work" gh_bench_audit_storage
  "target/$profile/audit_storage" "$GATEHOUSE_DATABASE_URL" "$events" "$total" "$pages"
  drop_database "$backend" gh_bench_audit_storage
done
