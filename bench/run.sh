#!/usr/bin/env bash
# Gatehouse benchmarks: starts the release server on SQLite and on PostgreSQL and prints one
# table. Installs wrk when missing. Ratios are measured within one run, because the machine is
# shared and noisy.
#
#   bench/run.sh                 # both backends
#   bench/run.sh sqlite          # one backend
#   BENCH_SECONDS=20 BENCH_USERS=1000000 bench/run.sh
#
# Then issue 15's rows, each with its target and whether it is met: server CPU per request
# (bench/cpu.sh, on the same backends) and, with PostgreSQL, the NDJSON import with PHC hashes
# (bench/import.sh postgres, BENCH_IMPORT_ROWS rows, default 1,000,000).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib.sh

backends=("${@:-sqlite postgres}")
[ "${1:-}" = "" ] && backends=(sqlite postgres)
seconds="${BENCH_SECONDS:-10}"
users="${BENCH_USERS:-1000000}"

apt_install wrk python3
say "building the release server and bench helpers"
cargo build --profile "$profile" --quiet -p gatehouse -p gatehouse-bench
work=$(mktemp -d)
new_master_key
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

results=()
token_results=()

bench_backend() {
  local backend=$1 pid port base
  fresh_database "$backend" "$work" "gh_bench_$$"
  bootstrap
  port=$(free_port); base="http://127.0.0.1:$port"
  start_server "$port" "$work/server-$backend.log" || exit 1
  pid=$server_pid

  api() { curl -fsS -H "$auth" -H 'content-type: application/json' "$@"; }
  import() { curl -fsS -H "$auth" -H 'content-type: application/x-ndjson' --data-binary "@$1" "$base/api/v1/namespaces/big/users:import"; }
  api -d '{"slug":"bench","display_name":"Bench"}' "$base/api/v1/namespaces" >/dev/null
  api -d '{"slug":"big","display_name":"Big"}' "$base/api/v1/namespaces" >/dev/null
  local uid; uid=$(api -d '{"username":"target","email":"target@example.com"}' "$base/api/v1/namespaces/bench/users" | json "['id']")

  say "$backend: /healthz and authenticated reads, 64 connections, ${seconds}s each"
  read -r health_rps health_p99 _ < <(wrk -t2 -c64 -d"${seconds}s" --latency "$base/healthz" | wrk_stats)
  read -r read_rps read_p99 read_bad < <(wrk -t2 -c64 -d"${seconds}s" --latency -H "$auth" "$base/api/v1/namespaces/bench/users/$uid" | wrk_stats)

  say "$backend: raw argon2id hash rate, then user creations"
  local hash_rate; hash_rate=$("$bench_bin/hashrate" "$seconds")
  read -r create_rps create_p99 create_bad < <(wrk -t2 -c8 -d"${seconds}s" --latency -H "$auth" -s bench/create_user.lua "$base/api/v1/namespaces/bench/users" | wrk_stats)

  say "$backend: read p99 idle, then during a user-creation burst (16 connections)"
  read -r _ idle_p99 _ < <(wrk -t1 -c16 -d"${seconds}s" --latency -H "$auth" "$base/api/v1/namespaces/bench/users/$uid" | wrk_stats)
  wrk -t1 -c16 -d"$((seconds + 3))s" -H "$auth" -s bench/create_user.lua "$base/api/v1/namespaces/bench/users" >/dev/null &
  local burst=$!
  sleep 1
  read -r _ burst_p99 _ < <(wrk -t1 -c16 -d"${seconds}s" --latency -H "$auth" "$base/api/v1/namespaces/bench/users/$uid" | wrk_stats)
  wait "$burst"

  say "$backend: seeding $users accounts through the import API, then keyset paging"
  local batch=100000 made=0 middle=""
  local seed_start; seed_start=$(date +%s)
  while [ "$made" -lt "$users" ]; do
    local n=$(( users - made < batch ? users - made : batch ))
    python3 -c "
import sys
start, n = int(sys.argv[1]), int(sys.argv[2])
sys.stdout.write(''.join('{\"username\":\"u%07d\",\"email\":\"u%07d@example.com\"}\n' % (i, i) for i in range(start, start + n)))
" "$made" "$n" > "$work/batch.ndjson"
    import "$work/batch.ndjson" >/dev/null
    made=$((made + n))
    if [ -z "$middle" ] && [ "$made" -ge $((users / 2)) ]; then
      middle=$(api -d '{"username":"middle-marker"}' "$base/api/v1/namespaces/big/users" | json "['id']")
    fi
  done
  local seed_secs=$(( $(date +%s) - seed_start ))
  local token; token=$(python3 -c "import base64,sys; print(base64.urlsafe_b64encode(('k1:'+sys.argv[1]).encode()).decode().rstrip('='))" "$middle")
  read -r page_rps page_p99 page_bad < <(wrk -t1 -c4 -d"${seconds}s" --latency -H "$auth" "$base/api/v1/namespaces/big/users?page_size=100&page_token=$token" | wrk_stats)

  say "$backend: token endpoint — client_credentials grants (RS256, ES256) and refresh grants"
  tick=$(getconf CLK_TCK)
  local es_client; es_client=$(api -d '{"name":"bench es256","access_token_alg":"ES256","permissions":["namespaces:read@*"]}' "$base/api/v1/clients")
  local es_auth="Authorization: Basic $(printf '%s:%s' "$(echo "$es_client" | json "['client_id']")" "$(echo "$es_client" | json "['client_secret']")" | base64 -w0)"
  echo 'grant_type=client_credentials' > "$work/cc.body"
  token_rows=()
  for alg in RS256 ES256; do
    local header="$auth"; [ "$alg" = ES256 ] && header="$es_auth"
    for conns in 32 64; do
      local before after out
      before=$(cpu_ticks "$pid")
      out=$(wrk -t2 -c"$conns" -d"${seconds}s" --latency -H "$header" -H 'Content-Type: application/x-www-form-urlencoded' -s bench/post_body.lua "$base/oauth/token" -- BODY="$work/cc.body")
      after=$(cpu_ticks "$pid")
      read -r rps p99 bad < <(echo "$out" | wrk_stats)
      local total; total=$(echo "$out" | awk '/requests in/ {print $1}')
      token_rows+=("client_credentials $alg c$conns|$rps|$p99|$(python3 -c "print(f'{($after - $before) / $tick / max($total, 1) * 1000:.3f}')")|$bad")
    done
  done
  # Refresh grants: a confidential web app with the password grant hands out the first tokens.
  local web; web=$(api -d '{"name":"bench web","grant_types":["authorization_code","refresh_token"],"redirect_uris":["https://app.example/cb"],"user_namespace":"bench","password_grant_enabled":true}' "$base/api/v1/clients")
  local web_id web_secret; web_id=$(echo "$web" | json "['client_id']"); web_secret=$(echo "$web" | json "['client_secret']")
  api -d '{"username":"refresher","password":"refresher password"}' "$base/api/v1/namespaces/bench/users" >/dev/null
  : > "$work/refresh.tokens"
  # 64 connections over two wrk threads, and a few tokens to spare per thread (bench/cpu.sh says why).
  for _ in $(seq 1 72); do
    curl -fsS -u "$web_id:$web_secret" -d grant_type=password -d username=refresher -d 'password=refresher password' "$base/oauth/token" | json "['refresh_token']" >> "$work/refresh.tokens"
  done
  local web_auth="Authorization: Basic $(printf '%s:%s' "$web_id" "$web_secret" | base64 -w0)"
  before=$(cpu_ticks "$pid")
  out=$(REFRESH_TOKENS="$work/refresh.tokens" TOKENS_PER_THREAD=36 wrk -t2 -c64 -d"${seconds}s" --latency -H "$web_auth" -s bench/refresh.lua "$base/oauth/token")
  after=$(cpu_ticks "$pid")
  read -r rps p99 bad < <(echo "$out" | wrk_stats)
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  token_rows+=("refresh_token RS256 c64|$rps|$p99|$(python3 -c "print(f'{($after - $before) / $tick / max($total, 1) * 1000:.3f}')")|$bad")
  for row in "${token_rows[@]}"; do token_results+=("$backend|$row"); done

  say "$backend: authenticated reads again with --audit-reads false"
  stop_server
  start_server "$port" "$work/server-$backend.log" --audit-reads false || exit 1
  pid=$server_pid
  read -r quiet_rps quiet_p99 quiet_bad < <(wrk -t2 -c64 -d"${seconds}s" --latency -H "$auth" "$base/api/v1/namespaces/bench/users/$uid" | wrk_stats)

  stop_server
  drop_database "$backend" "gh_bench_$$"

  results+=("$backend|$health_rps|$health_p99|$read_rps|$read_p99|$((read_bad + quiet_bad))|$hash_rate|$create_rps|$create_bad|$idle_p99|$burst_p99|$page_rps|$page_p99|$page_bad|$seed_secs|$quiet_rps|$quiet_p99")
}

for b in "${backends[@]}"; do bench_backend "$b"; done

python3 - "${token_results[@]}" <<'PY'
import sys
print()
print("| backend | grant | grants/s | p99 ms | server CPU per grant, ms | non-2xx |")
print("|---|---|---|---|---|---|")
for row in sys.argv[1:]:
    b, grant, rps, p99, cpu, bad = row.split("|")
    print(f"| {b} | {grant} | {rps} | {p99} | {cpu} | {bad} |")
PY

python3 - "${results[@]}" <<'PY'
import sys
rows = [r.split("|") for r in sys.argv[1:]]
def pct(a, b): return f"{100 * float(a) / float(b):.0f}%" if float(b) else "n/a"
print()
print("| backend | /healthz req/s (p99 ms) | Basic-auth GET user req/s (p99 ms), reads audited | vs /healthz (target >= 50%) | same with --audit-reads false | vs /healthz | argon2id hashes/s | user creations/s | vs hash rate (target >= 90%) | read p99 idle -> during burst, ms (target <= 2x) | page of 100 among the seeded users, req/s (p99 ms, target <= 20) | errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for (b, hr, hp, rr, rp, rb, hash_rate, cr, cb, ip, bp, pr, pp, pb, seed, qr, qp) in rows:
    ratio = float(bp) / float(ip) if float(ip) else 0
    print(f"| {b} | {hr} ({hp}) | {rr} ({rp}) | {pct(rr, hr)} | {qr} ({qp}) | {pct(qr, hr)} | {hash_rate} | {cr} | {pct(cr, hash_rate)} | {ip} -> {bp} ({ratio:.2f}x) | {pr} ({pp}) | {int(rb) + int(cb) + int(pb)} non-2xx; seeding took {seed}s |")
PY

say "issue 15: server CPU per request, each row against its target"
CPU_SECONDS="$seconds" bench/cpu.sh "${backends[@]}"
for b in "${backends[@]}"; do
  if [ "$b" = postgres ]; then
    say "issue 15: the NDJSON import with PHC hashes on PostgreSQL"
    bench/import.sh postgres "${BENCH_IMPORT_ROWS:-1000000}"
  fi
done
