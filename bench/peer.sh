#!/usr/bin/env bash
# Gatehouse's token endpoint side by side with a peer, node-oidc-provider (bench/peer/: the
# version pinned in package.json, installed from the npm registry with `npm ci`), in one run:
# client_credentials grants (one confidential client, client_secret_basic, JWT access tokens)
# with the same wrk threads, connections and duration, RS256 and ES256 on both, plus the peer's
# default opaque tokens. Runs it twice: on the whole machine, then per core (each server's
# threads on CPU 0, wrk on the others). Prints grants/s, p99, server CPU per grant, the ratio
# Gatehouse / peer of grants/s and of grants per CPU-second, and issue 15's targets per
# CPU-second (RS256 >= 1.6x, ES256 >= 3x) with whether each is met.
#
#   bench/peer.sh                         # 10 s per measurement, 64 connections, both layouts
#   PEER_SECONDS=5 bench/peer.sh          # the bounded form (CI)
#   PEER_CONNECTIONS=32 PEER_BACKEND=postgres bench/peer.sh
#   PEER_ONE_CPU=1 bench/peer.sh          # per core only
#   PEER_ONE_CPU=0 bench/peer.sh          # whole machine only
#
# node-oidc-provider runs as one process with NODE_ENV=production (its default: no cluster).
# Gatehouse runs its release build on a fresh SQLite database (PEER_BACKEND=postgres for
# PostgreSQL) and, unlike the peer, commits an audit event for every grant before answering.
# Exits 1 on a non-2xx answer, not on a missed target.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib.sh

seconds="${PEER_SECONDS:-10}"
warmup="${PEER_WARMUP_SECONDS:-2}"
conns="${PEER_CONNECTIONS:-64}"
threads="${PEER_THREADS:-2}"
backend="${PEER_BACKEND:-sqlite}"
case "${PEER_ONE_CPU:-}" in
  "") layouts=(machine one_cpu) ;;
  0) layouts=(machine) ;;
  *) layouts=(one_cpu) ;;
esac
# set_layout <machine|one_cpu>: with one_cpu, every thread of the server under test runs on
# CPU 0 and wrk on the rest: the comparison per core, where the peer's single process is not at
# a disadvantage. `pin` applies the layout to a server (undoing an earlier one).
all_cpus="0-$(( $(nproc) - 1 ))"
set_layout() {
  layout=$1
  load=()
  if [ "$layout" = one_cpu ]; then
    [ "$(nproc)" -ge 2 ] || { echo "the per-core layout needs two CPUs or more" >&2; exit 1; }
    load=(taskset -c "1-$(( $(nproc) - 1 ))")
  fi
}
pin() {
  if [ "$layout" = one_cpu ]; then taskset -a -p -c 0 "$1" >/dev/null; else taskset -a -p -c "$all_cpus" "$1" >/dev/null; fi
}

apt_install wrk python3
have node && have npm || apt_install nodejs npm
pinned=$(python3 -c 'import json; print(json.load(open("bench/peer/package.json"))["dependencies"]["oidc-provider"])')
installed=$(python3 -c 'import json; print(json.load(open("bench/peer/node_modules/oidc-provider/package.json"))["version"])' 2>/dev/null || true)
if [ "$installed" != "$pinned" ]; then
  say "installing node-oidc-provider $pinned (npm ci)"
  (cd bench/peer && npm ci --no-audit --no-fund --silent)
fi
say "building the release server and bench helpers"
cargo build --profile "$profile" --quiet -p gatehouse -p gatehouse-bench  # as bench/run.sh: the same features, no rebuild between them
work=$(mktemp -d)
new_master_key
server_pid=
peer_pid=
trap 'stop_server; [ -n "$peer_pid" ] && { kill "$peer_pid" 2>/dev/null; wait "$peer_pid" 2>/dev/null; }; drop_database "$backend" "gh_peer_$$" 2>/dev/null || true; rm -rf "$work"' EXIT

echo 'grant_type=client_credentials' > "$work/cc.body"

# grants <label> <pid> <url> <Authorization header>: one checked grant, a warm-up, then the
# measured run; appends "label|grants/s|p99 ms|CPU ms per grant|non-2xx" to rows.
rows=()
grants() {
  local label=$1 pid=$2 url=$3 header=$4 first alg out before after total tick
  first=$(curl -fsS -H "$header" -d grant_type=client_credentials "$url") || { echo "$label: the first grant failed" >&2; exit 1; }
  alg=$(echo "$first" | python3 -c '
import base64, json, sys
token = json.load(sys.stdin)["access_token"]
head = token.split(".")[0] if token.count(".") == 2 else None
print(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["alg"] if head else "opaque")')
  say "$label: $alg tokens; ${warmup}s warm-up, then ${seconds}s with wrk -t$threads -c$conns"
  pin "$pid"
  "${load[@]}" wrk -t"$threads" -c"$conns" -d"${warmup}s" -H "$header" -H 'Content-Type: application/x-www-form-urlencoded' \
    -s bench/post_body.lua "$url" -- BODY="$work/cc.body" >/dev/null
  before=$(cpu_ticks "$pid")
  out=$("${load[@]}" wrk -t"$threads" -c"$conns" -d"${seconds}s" --latency -H "$header" -H 'Content-Type: application/x-www-form-urlencoded' \
    -s bench/post_body.lua "$url" -- BODY="$work/cc.body")
  after=$(cpu_ticks "$pid")
  read -r rps p99 bad < <(echo "$out" | wrk_stats)
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  tick=$(getconf CLK_TCK)
  rows+=("$layout|$label|$alg|$rps|$p99|$(python3 -c "print(f'{($after - $before) / $tick / max($total, 1) * 1000:.3f}')")|$bad")
}

# The peer, one mode at a time (jwt-rs256, jwt-es256, opaque), with one client.
start_peer() {
  local mode=$1
  peer_port=$(free_port)
  peer_secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
  NODE_ENV=production PORT="$peer_port" PEER_MODE="$mode" PEER_CLIENT_ID=bench PEER_CLIENT_SECRET="$peer_secret" \
    node bench/peer/provider.mjs >>"$work/peer.log" 2>&1 &
  peer_pid=$!
  until curl -fs "http://127.0.0.1:$peer_port/.well-known/openid-configuration" >/dev/null; do
    kill -0 "$peer_pid" 2>/dev/null || { cat "$work/peer.log" >&2; exit 1; }
    sleep 0.1
  done
}
stop_peer() { kill "$peer_pid"; wait "$peer_pid" 2>/dev/null || true; peer_pid=; }

fresh_database "$backend" "$work" "gh_peer_$$"
bootstrap
port=$(free_port)
start_server "$port" "$work/server.log"
api() { curl -fsS -H "$auth" -H 'content-type: application/json' "$@"; }
rs=$(api -d '{"name":"peer bench RS256","access_token_alg":"RS256","permissions":["namespaces:read@*"]}' "http://127.0.0.1:$port/api/v1/clients")
es=$(api -d '{"name":"peer bench ES256","access_token_alg":"ES256","permissions":["namespaces:read@*"]}' "http://127.0.0.1:$port/api/v1/clients")
rs_auth=$(basic_auth "$(echo "$rs" | json "['client_id']")" "$(echo "$rs" | json "['client_secret']")")
es_auth=$(basic_auth "$(echo "$es" | json "['client_id']")" "$(echo "$es" | json "['client_secret']")")
gh_token="http://127.0.0.1:$port/oauth/token"

for l in "${layouts[@]}"; do
  set_layout "$l"
  say "$layout: node-oidc-provider $pinned on node $(node --version), Gatehouse on $backend"
  grants "Gatehouse RS256" "$server_pid" "$gh_token" "$rs_auth"
  start_peer jwt-rs256
  grants "peer RS256" "$peer_pid" "http://127.0.0.1:$peer_port/token" "$(basic_auth bench "$peer_secret")"
  stop_peer
  grants "Gatehouse ES256" "$server_pid" "$gh_token" "$es_auth"
  start_peer jwt-es256
  grants "peer ES256" "$peer_pid" "http://127.0.0.1:$peer_port/token" "$(basic_auth bench "$peer_secret")"
  stop_peer
  start_peer opaque
  grants "peer opaque" "$peer_pid" "http://127.0.0.1:$peer_port/token" "$(basic_auth bench "$peer_secret")"
  stop_peer
done
stop_server

python3 - "$pinned" "$backend" "$threads" "$conns" "$seconds" "$profile" "${rows[@]}" <<'PY'
import sys
version, backend, threads, conns, seconds, profile, *raw = sys.argv[1:]
rows, layouts = {}, []
for r in raw:
    layout, label, alg, rps, p99, cpu, bad = r.split("|")
    rows[(layout, label)] = dict(alg=alg, rps=float(rps), p99=p99, cpu=float(cpu), bad=int(bad))
    if layout not in layouts: layouts.append(layout)
where = {"machine": "the whole machine (every server uses every CPU; wrk shares them)",
         "one_cpu": "per core (each server's threads on CPU 0, wrk on the other CPUs)"}
# Issue 15: grants per CPU-second, Gatehouse / peer (the peer's CPU per grant / ours).
targets = {"JWT RS256": 1.6, "JWT ES256": 3.0}
for layout in layouts:
    print()
    print(f"client_credentials grants, wrk -t{threads} -c{conns}, {seconds} s each, {where[layout]}; "
          f"Gatehouse ({profile} build, {backend}, every grant's audit event committed before the answer) vs "
          f"node-oidc-provider {version} (NODE_ENV=production, one process)")
    print()
    print("| access token | Gatehouse grants/s | p99 ms | CPU ms/grant | peer grants/s | p99 ms | CPU ms/grant "
          "| grants/s, Gatehouse / peer | grants per CPU-second, Gatehouse / peer | target (issue 15) | met? |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, ours, theirs in [("JWT RS256", "Gatehouse RS256", "peer RS256"),
                               ("JWT ES256", "Gatehouse ES256", "peer ES256"),
                               ("defaults: Gatehouse JWT RS256 vs peer opaque", "Gatehouse RS256", "peer opaque")]:
        g, p = rows[(layout, ours)], rows[(layout, theirs)]
        ratio = g["rps"] / p["rps"] if p["rps"] else 0
        per_cpu = p["cpu"] / g["cpu"] if g["cpu"] else 0
        target = targets.get(name)
        verdict = ("met" if per_cpu >= target else "**not met**") if target else ""
        shown = f">= {target}x" if target else "(none)"
        print(f"| {name} | {g['rps']:.0f} | {g['p99']} | {g['cpu']:.3f} | {p['rps']:.0f} | {p['p99']} | {p['cpu']:.3f} "
              f"| {ratio:.2f}x | {per_cpu:.2f}x | {shown} | {verdict} |")
bad = {f"{layout} {label}": v["bad"] for (layout, label), v in rows.items() if v["bad"]}
if bad:
    print()
    print("non-2xx answers: " + ", ".join(f"{k}: {v}" for k, v in bad.items()))
    sys.exit(1)
PY
