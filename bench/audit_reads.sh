#!/usr/bin/env bash
# Authenticated reads under each --audit-reads mode, in one run: req/s, p99, server CPU per read
# (from /proc/<pid>/stat) and how many audit events the reads left behind. Ratios are what to
# compare (the machine is shared and noisy).
#
#   bench/audit_reads.sh                      # SQLite and PostgreSQL, 10 s per mode
#   bench/audit_reads.sh postgres             # one backend
#   BENCH_SECONDS=3 bench/audit_reads.sh      # the bounded form (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib.sh

backends=("$@")
[ ${#backends[@]} -eq 0 ] && backends=(sqlite postgres)
seconds="${BENCH_SECONDS:-10}"

apt_install wrk python3
say "building the release server"
cargo build --release --quiet -p gatehouse -p gatehouse-bench  # as bench/run.sh: the same features, no rebuild between them
work=$(mktemp -d)
new_master_key
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
tick=$(getconf CLK_TCK)
rows=()

for backend in "${backends[@]}"; do
  for mode in summary full off; do
    fresh_database "$backend" "$work" "gh_reads_$$_$mode"
    bootstrap
    port=$(free_port); base="http://127.0.0.1:$port"
    start_server "$port" "$work/server-$backend-$mode.log" --audit-reads "$mode" || exit 1
    api() { curl -fsS -H "$auth" -H 'content-type: application/json' "$@"; }
    api -d '{"slug":"bench","display_name":"Bench"}' "$base/api/v1/namespaces" >/dev/null
    uid=$(api -d '{"username":"reader-target"}' "$base/api/v1/namespaces/bench/users" | json "['id']")
    before_events=$(api "$base/api/v1/audit-events:verify" | json "['events_verified']")
    before=$(cpu_ticks "$server_pid")
    out=$(wrk -t2 -c64 -d"${seconds}s" --latency -H "$auth" "$base/api/v1/namespaces/bench/users/$uid")
    after=$(cpu_ticks "$server_pid")
    read -r rps p99 bad < <(echo "$out" | wrk_stats)
    total=$(echo "$out" | awk '/requests in/ {print $1}')
    # A graceful stop writes the open minute's summaries; count what the reads left behind.
    stop_server
    start_server "$port" "$work/server-$backend-$mode.log" --audit-reads "$mode" || exit 1
    after_events=$(api "$base/api/v1/audit-events:verify" | json "['events_verified']")
    stop_server
    drop_database "$backend" "gh_reads_$$_$mode"
    cpu=$(python3 -c "print(f'{($after - $before) / $tick / max($total, 1) * 1000:.3f}')")
    # Minus the verify call's own read (its summary or event; nothing with reads off). wrk
    # counts the reads it finished; the last in flight (up to 64) are served and audited too.
    own=1; [ "$mode" = off ] && own=0
    rows+=("$backend|$mode|$total|$rps|$p99|$cpu|$((after_events - before_events - own))|$bad")
  done
done

python3 - "${rows[@]}" <<'PY'
import sys
rows = [r.split("|") for r in sys.argv[1:]]
full = {r[0]: float(r[3]) for r in rows if r[1] == "full"}
print()
print("| backend | --audit-reads | reads | req/s | vs full | p99 ms | server CPU per read, ms | audit events left | non-2xx |")
print("|---|---|---|---|---|---|---|---|---|")
for b, mode, total, rps, p99, cpu, events, bad in rows:
    ratio = f"{float(rps) / full[b]:.2f}x" if full.get(b) else "n/a"
    print(f"| {b} | {mode} | {total} | {rps} | {ratio} | {p99} | {cpu} | {events} | {bad} |")
PY
