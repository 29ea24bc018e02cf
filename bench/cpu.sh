#!/usr/bin/env bash
# Server CPU per request (issue 15): one release server per backend on a fresh database, each
# request kind under `wrk -t2 -c64`, CPU from /proc/<pid>/stat (utime + stime) before and after
# divided by the requests completed, and the cost of one token signature measured in the same
# run (`target/<profile>/signcost`: the server's own SigningKey::sign, one key shared by two
# threads). Prints each row with its target and whether it is met.
#
#   bench/cpu.sh                  # SQLite
#   bench/cpu.sh sqlite postgres  # both backends
#   CPU_SECONDS=5 bench/cpu.sh    # shorter runs
#   BENCH_PROFILE=profiling bench/cpu.sh   # the build with line tables (for perf), same code
#   CPU_PERF=1 bench/cpu.sh       # also `perf record` each row (perf-<row>.data in $CPU_PERF_DIR)
#   CPU_THREADS=1 bench/cpu.sh    # also each row's CPU per request by server thread (from
#                                 # /proc/<pid>/task/*/stat, threads grouped by name) and the
#                                 # audit writer's events per commit (/metrics), on stderr
#   CPU_BIN=/path/to/gatehouse bench/cpu.sh   # another build's server (e.g. the one before a
#                                 # change, built with CARGO_TARGET_DIR elsewhere): run it and
#                                 # this one in turns to compare them on a noisy machine
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib.sh

backends=("$@")
[ ${#backends[@]} -eq 0 ] && backends=(sqlite)
seconds="${CPU_SECONDS:-10}"
conns="${CPU_CONNECTIONS:-64}"
perf_dir="${CPU_PERF_DIR:-/tmp}"
# The server logs as it does by default (a line per request, here into a file).
export BENCH_LOG_DEFAULT=1

apt_install wrk python3
say "building the $profile server and bench helpers"
cargo build --profile "$profile" --quiet -p gatehouse -p gatehouse-bench
[ -z "${CPU_BIN:-}" ] || bin=$CPU_BIN
work=$(mktemp -d)
new_master_key
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
tick=$(getconf CLK_TCK)

rows=()

# perf_start <backend> <row> / perf_stop: with CPU_PERF, profiles the server meanwhile.
perf_pid=
perf_start() {
  [ -n "${CPU_PERF:-}" ] || return 0
  perf record -q -F 499 --call-graph dwarf,16384 -p "$server_pid" -o "$perf_dir/perf-$1-$2.data" 2>/dev/null &
  perf_pid=$!
  sleep 0.5
}
perf_stop() {
  [ -n "$perf_pid" ] || return 0
  kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; perf_pid=
}

# thread_ticks <pid>: "tid name ticks" per thread of the server, digits dropped from the names.
thread_ticks() {
  python3 - "$1" <<'PY'
import os, re, sys
pid = sys.argv[1]
for tid in os.listdir(f"/proc/{pid}/task"):
    try:
        stat = open(f"/proc/{pid}/task/{tid}/stat").read()
    except OSError:
        continue
    name = re.sub(r"[0-9]+", "N", stat[stat.index("(") + 1:stat.rindex(")")]).replace(" ", "_")
    fields = stat[stat.rindex(")") + 2:].split()
    print(tid, name, int(fields[11]) + int(fields[12]))
PY
}

# audit_batches <base>: "events commits" of the audit writer so far.
audit_batches() {
  curl -fsS "$1/metrics" | awk '/^gatehouse_audit_batch_events_sum/ {s = $2} /^gatehouse_audit_batch_events_count/ {c = $2} END {print s + 0, c + 0}'
}

# thread_report <row> <requests> <before> <after> <batches before> <batches after>: with
# CPU_THREADS, the row's CPU per request by thread group and the events per audit commit.
thread_report() {
  python3 - "$@" "$tick" <<'PY' >&2
import sys
row, total, before, after, b0, b1, tick = sys.argv[1:]
total = max(int(total), 1)
def load(path):
    out = {}
    for line in open(path):
        tid, name, ticks = line.split()
        out[tid] = (name, int(ticks))
    return out
b, a = load(before), load(after)
groups = {}
for tid, (name, ticks) in a.items():
    groups[name] = groups.get(name, 0) + ticks - b.get(tid, (name, 0))[1]
parts = ", ".join(f"{n} {t / int(tick) / total * 1000:.4f}" for n, t in sorted(groups.items(), key=lambda x: -x[1]) if t)
e0, c0 = map(float, b0.split()); e1, c1 = map(float, b1.split())
batch = f"; audit events per commit {(e1 - e0) / (c1 - c0):.1f}" if c1 > c0 else ""
print(f"  {row}: ms per request by thread: {parts}{batch}")
PY
}

# run <backend> <row> <wrk args…>: the measured run (after any warm-up); appends
# "backend|row|req/s|CPU ms per request|non-2xx" to rows.
run() {
  local backend=$1 row=$2; shift 2
  local before after out rps p99 bad total
  perf_start "$backend" "$row"
  if [ -n "${CPU_THREADS:-}" ]; then thread_ticks "$server_pid" > "$work/threads.before"; batches0=$(audit_batches "$base"); fi
  before=$(cpu_ticks "$server_pid")
  out=$(wrk -t2 -c"$conns" -d"${seconds}s" --latency "$@")
  after=$(cpu_ticks "$server_pid")
  perf_stop
  read -r rps p99 bad < <(echo "$out" | wrk_stats)
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  if [ -n "${CPU_THREADS:-}" ]; then
    thread_ticks "$server_pid" > "$work/threads.after"
    thread_report "$backend $row" "$total" "$work/threads.before" "$work/threads.after" "$batches0" "$(audit_batches "$base")"
  fi
  rows+=("$backend|$row|$rps|$(python3 -c "print(f'{($after - $before) / $tick / max($total, 1) * 1000:.4f}')")|$bad")
}

# measure <backend> <row> <wrk args…>: a 1 s warm-up, then the measured run.
measure() {
  wrk -t2 -c"$conns" -d1s "${@:3}" >/dev/null
  run "$@"
}

bench_backend() {
  local backend=$1 port base
  fresh_database "$backend" "$work" "gh_cpu_$$"
  bootstrap
  port=$(free_port); base="http://127.0.0.1:$port"
  start_server "$port" "$work/server-$backend.log" || exit 1
  sleep 2
  local rss; rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")
  rows+=("$backend|idle RSS after start, MiB|0|$(python3 -c "print(f'{$rss / 1024:.1f}')")|0")

  api() { curl -fsS -H "$auth" -H 'content-type: application/json' "$@"; }
  api -d '{"slug":"bench","display_name":"Bench"}' "$base/api/v1/namespaces" >/dev/null
  local uid; uid=$(api -d '{"username":"target","email":"target@example.com"}' "$base/api/v1/namespaces/bench/users" | json "['id']")
  local bearer; bearer=$(curl -fsS -H "$auth" -d grant_type=client_credentials "$base/oauth/token" | json "['access_token']")
  local es; es=$(api -d '{"name":"bench es256","access_token_alg":"ES256","permissions":["namespaces:read@*"]}' "$base/api/v1/clients")
  local es_auth; es_auth=$(basic_auth "$(echo "$es" | json "['client_id']")" "$(echo "$es" | json "['client_secret']")")
  echo 'grant_type=client_credentials' > "$work/cc.body"
  local form=(-H 'Content-Type: application/x-www-form-urlencoded' -s bench/post_body.lua "$base/oauth/token" -- BODY="$work/cc.body")

  say "$backend: ${seconds}s per row, wrk -t2 -c$conns"
  measure "$backend" healthz "$base/healthz"
  measure "$backend" basic_read -H "$auth" "$base/api/v1/namespaces/bench/users/$uid"
  measure "$backend" bearer_read -H "Authorization: Bearer $bearer" "$base/api/v1/namespaces/bench/users/$uid"
  measure "$backend" cc_rs256 -H "$auth" "${form[@]}"
  measure "$backend" cc_es256 -H "$es_auth" "${form[@]}"

  # Refresh grants with an ID token: a confidential web app; the password grant (scope openid)
  # hands out the first refresh tokens, each grant's answer carries the next.
  local web; web=$(api -d '{"name":"bench web","grant_types":["authorization_code","refresh_token"],"redirect_uris":["https://app.example/cb"],"user_namespace":"bench","password_grant_enabled":true}' "$base/api/v1/clients")
  local web_id web_secret; web_id=$(echo "$web" | json "['client_id']"); web_secret=$(echo "$web" | json "['client_secret']")
  api -d '{"username":"refresher","password":"refresher password"}' "$base/api/v1/namespaces/bench/users" >/dev/null
  # Each wrk thread holds a few tokens beyond one per connection: wrk can lose a thread's first
  # token as it opens its connections, and a thread short of one then sends a connection's
  # requests without a token (refused) for the whole run.
  local per=$((conns / 2 + 4))
  : > "$work/refresh.tokens"
  for _ in $(seq 1 $((per * 4))); do
    curl -fsS -u "$web_id:$web_secret" -d grant_type=password -d username=refresher -d 'password=refresher password' \
      -d scope=openid "$base/oauth/token" | json "['refresh_token']" >> "$work/refresh.tokens"
  done
  # The first half warms up (each chain is used once per request); the second is measured.
  head -n $((per * 2)) "$work/refresh.tokens" > "$work/warm.tokens"
  tail -n $((per * 2)) "$work/refresh.tokens" > "$work/measured.tokens"
  local check; check=$(curl -fsS -u "$web_id:$web_secret" -d grant_type=password -d username=refresher \
    -d 'password=refresher password' -d scope=openid "$base/oauth/token" | json "['refresh_token']")
  curl -fsS -u "$web_id:$web_secret" -d grant_type=refresh_token -d "refresh_token=$check" "$base/oauth/token" \
    | python3 -c 'import json,sys; sys.exit(0 if "id_token" in json.load(sys.stdin) else "refresh grants carry no ID token")'
  local web_auth; web_auth=$(basic_auth "$web_id" "$web_secret")
  REFRESH_TOKENS="$work/warm.tokens" TOKENS_PER_THREAD=$per wrk -t2 -c"$conns" -d1s -H "$web_auth" -s bench/refresh.lua "$base/oauth/token" >/dev/null
  REFRESH_TOKENS="$work/measured.tokens" TOKENS_PER_THREAD=$per run "$backend" refresh_id_token --timeout 10s -H "$web_auth" -s bench/refresh.lua "$base/oauth/token"

  say "$backend: one signature's CPU, the way the server signs (server idle)"
  while read -r alg ms _; do rows+=("$backend|sign_$alg|0|$ms|0"); done < <("$bench_bin/signcost" 3 2)

  stop_server
  drop_database "$backend" "gh_cpu_$$"
}

for b in "${backends[@]}"; do bench_backend "$b"; done

python3 - "${rows[@]}" <<'PY'
import sys
data = {}
order = []
for r in sys.argv[1:]:
    b, row, rps, cpu, bad = r.split("|")
    data[(b, row)] = (float(rps), float(cpu), int(bad))
    if b not in order: order.append(b)
def verdict(ok): return "met" if ok else "**not met**"
print()
print("| backend | request | req/s | server CPU per request, ms | target | met? |")
print("|---|---|---|---|---|---|")
bad_total = 0
for b in order:
    g = lambda row: data[(b, row)]
    health_rps, health_cpu, _ = g("healthz")
    rs_sig, es_sig = g("sign_RS256")[1], g("sign_ES256")[1]
    read_cap = 0.05 if b == "sqlite" else 0.08
    print(f"| {b} | `GET /healthz` | {health_rps:.0f} | {health_cpu:.4f} | (reference) | |")
    for row, name in [("basic_read", "Basic-auth `GET …/users/{id}` (reads summarised)"),
                      ("bearer_read", "Bearer `GET …/users/{id}` (reads summarised)")]:
        rps, cpu, bad = g(row); bad_total += bad
        share = rps / health_rps if health_rps else 0
        print(f"| {b} | {name} | {rps:.0f} ({share:.0%} of /healthz) | {cpu:.4f} | ≤ {read_cap} ms and ≥ 25% of /healthz | {verdict(cpu <= read_cap and share >= 0.25)} |")
    rps, cpu, bad = g("cc_rs256"); bad_total += bad
    print(f"| {b} | client_credentials RS256 | {rps:.0f} | {cpu:.4f} (one RS256 signature {rs_sig:.4f}; above it {cpu - rs_sig:.4f}) | ≤ signature + 0.08 ms | {verdict(cpu - rs_sig <= 0.08)} |")
    rps, cpu, bad = g("cc_es256"); bad_total += bad
    print(f"| {b} | client_credentials ES256 | {rps:.0f} | {cpu:.4f} (one ES256 signature {es_sig:.4f}) | ≤ 0.09 ms | {verdict(cpu <= 0.09)} |")
    rps, cpu, bad = g("refresh_id_token"); bad_total += bad
    sigs = 2 * rs_sig
    print(f"| {b} | refresh_token, RS256 access + ID token | {rps:.0f} | {cpu:.4f} (two RS256 signatures {sigs:.4f}; above them {cpu - sigs:.4f}) | ≤ signatures + 0.25 ms | {verdict(cpu - sigs <= 0.25)} |")
    rss = g("idle RSS after start, MiB")[1]
    print(f"| {b} | idle RSS of `gatehouse serve` 2 s after start | | {rss:.1f} MiB | ≤ 40 MiB | {verdict(rss <= 40)} |")
if bad_total:
    print("\nnon-2xx answers: " + ", ".join(f"{b} {row}: {bad}" for (b, row), (_, _, bad) in data.items() if bad))
    sys.exit(1)
PY
