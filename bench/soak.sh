#!/usr/bin/env bash
# Gatehouse soak: for each backend, the release server on a fresh database under SOAK_SECONDS
# of steady (open-loop, fixed-rate) mixed traffic from target/release/soak (bench/src/bin/soak/main.rs):
# authenticated reads, user creations, client_credentials and rotating refresh_token grants,
# failed logins. Prints a table per backend (throughput, p50, p99, errors per kind; server RSS;
# database size) and exits non-zero on any error.
#
#   bench/soak.sh                        # SQLite and PostgreSQL, 600 s each
#   bench/soak.sh sqlite                 # one backend
#   SOAK_SECONDS=20 bench/soak.sh        # the bounded form (CI)
#   SOAK_READ_RATE=400 SOAK_CC_RATE=100 bench/soak.sh postgres
#
# Rates (requests/s): SOAK_READ_RATE 200, SOAK_CREATE_RATE 10, SOAK_CC_RATE 50,
# SOAK_REFRESH_RATE 20, SOAK_FAILED_SECRET_RATE 2, SOAK_FAILED_PASSWORD_RATE 2; more knobs at
# the top of bench/src/bin/soak/main.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib.sh

backends=("$@")
[ ${#backends[@]} -eq 0 ] && backends=(sqlite postgres)
for b in "${backends[@]}"; do
  case "$b" in sqlite|postgres) ;; *) echo "usage: bench/soak.sh [sqlite|postgres]..." >&2; exit 2 ;; esac
done
export SOAK_SECONDS="${SOAK_SECONDS:-600}"

apt_install python3
say "building the release server and the soak load generator"
cargo build --release --quiet -p gatehouse -p gatehouse-bench  # as bench/run.sh: the same features, no rebuild between them
work=$(mktemp -d)
new_master_key
server_pid=
trap 'stop_server; for b in "${backends[@]}"; do drop_database "$b" "gh_soak_$$" 2>/dev/null || true; done; rm -rf "$work"' EXIT

failed=()
tables=()
for backend in "${backends[@]}"; do
  fresh_database "$backend" "$work" "gh_soak_$$"
  bootstrap
  port=$(free_port)
  # Failed logins come from many addresses (X-Forwarded-For), as behind a load balancer.
  start_server "$port" "$work/server-$backend.log" --trust-forwarded-for
  say "$backend: soak of ${SOAK_SECONDS}s (after ${SOAK_WARMUP_SECONDS:-10}s of warm-up)"
  status=0
  SOAK_BASE_URL="http://127.0.0.1:$port" SOAK_CLIENT_ID="$boot_id" SOAK_CLIENT_SECRET="$boot_secret" \
    SOAK_SERVER_PID="$server_pid" SOAK_DATABASE_URL="$GATEHOUSE_DATABASE_URL" SOAK_BACKEND="$backend" \
    target/release/soak >"$work/table-$backend.md" || status=$?
  cat "$work/table-$backend.md" >&2
  tables+=("$(cat "$work/table-$backend.md")")
  if [ "$status" -ne 0 ]; then
    failed+=("$backend")
    say "$backend: errors; the server's log (warnings and errors):"
    tail -n 40 "$work/server-$backend.log" >&2
  fi
  stop_server
  drop_database "$backend" "gh_soak_$$"
done

echo
echo "## Soak, $(date -u +%Y-%m-%d)"
for t in "${tables[@]}"; do echo "$t"; done
if [ ${#failed[@]} -ne 0 ]; then
  echo "soak FAILED on: ${failed[*]}" >&2
  exit 1
fi
