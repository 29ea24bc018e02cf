#!/usr/bin/env bash
# Lookups at scale: the server's CPU per refresh grant, Basic-auth read, page of users and user
# search, one request at a time, on a database of LOOKUP_ROWS accounts (default 200,000) each a
# member of one group.
# The rows of bench/cpu.sh run on a nearly empty database; this catches a statement whose cost
# grows with the tables (a scan, a materialised join) rather than with its answer
# (docs/performance.md, seventh sitting: 690 ms -> 1.76 ms per refresh grant, 45 ms -> 0.3 ms
# per search that matches nothing).
#
#   bench/lookups.sh                      # SQLite, 200,000 accounts
#   LOOKUP_ROWS=1000000 bench/lookups.sh
#   bench/lookups.sh postgres
#   LOOKUP_BIN=/tmp/gatehouse-before bench/lookups.sh   # another build
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib.sh
backend=${1:-sqlite}
rows=${LOOKUP_ROWS:-200000}
if [ -n "${LOOKUP_BIN:-}" ]; then
  bin=$LOOKUP_BIN
else
  cargo build --profile "$profile" --quiet -p gatehouse
fi
work=$(mktemp -d)
new_master_key
trap 'kill $(jobs -p) 2>/dev/null || true; drop_database "$backend" "gh_lookups_$$"; rm -rf "$work"' EXIT
fresh_database "$backend" "$work" "gh_lookups_$$"
bootstrap >/dev/null
port=$(free_port); base="http://127.0.0.1:$port"
start_server "$port" "$work/server.log" || exit 1
api() { curl -fsS -H "$auth" -H 'content-type: application/json' "$@"; }
api -d '{"slug":"bench","display_name":"Bench"}' "$base/api/v1/namespaces" >/dev/null
python3 - "$work" "$rows" <<'PY'
import json, sys
work, rows = sys.argv[1], int(sys.argv[2])
with open(f"{work}/users.ndjson", "w") as out:
    for i in range(rows):
        out.write(json.dumps({"username": f"u{i:08d}", "email": f"u{i:08d}@example.com"}) + "\n")
PY
split -l 100000 "$work/users.ndjson" "$work/part."
for f in "$work"/part.*; do curl -fsS -H "$auth" -H 'content-type: application/x-ndjson' --data-binary @"$f" "$base/api/v1/namespaces/bench/users:import" >/dev/null; done
# Every imported account in one group: the memberships in bulk, in SQL behind the server's back.
gid=$(api -d '{"name":"everyone"}' "$base/api/v1/namespaces/bench/groups" | json "['id']")
members="INSERT INTO group_members (group_id, account_id, created_at)
  SELECT '$gid', id, created_at FROM accounts WHERE namespace = 'bench' AND username LIKE 'u%'"
if [ "$backend" = sqlite ]; then
  python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=30); c.execute(sys.argv[2]); c.commit()' \
    "${GATEHOUSE_DATABASE_URL#sqlite://}" "$members"
else
  psql -q "$GATEHOUSE_DATABASE_URL" -c "$members" >/dev/null
fi
say "$backend: $rows accounts, each in one group; one request at a time"
uid=$(api -d '{"username":"target","email":"target@example.com"}' "$base/api/v1/namespaces/bench/users" | json "['id']")
web=$(api -d '{"name":"bench web","grant_types":["authorization_code","refresh_token"],"redirect_uris":["https://app.example/cb"],"user_namespace":"bench","password_grant_enabled":true}' "$base/api/v1/clients")
web_id=$(echo "$web" | json "['client_id']"); web_secret=$(echo "$web" | json "['client_secret']")
api -d '{"username":"refresher","password":"refresher password"}' "$base/api/v1/namespaces/bench/users" >/dev/null
rt=$(curl -fsS -u "$web_id:$web_secret" -d grant_type=password -d username=refresher -d 'password=refresher password' -d scope=openid "$base/oauth/token" | json "['refresh_token']")
python3 - "$port" "$server_pid" "$web_id" "$web_secret" "$rt" "$boot_id" "$boot_secret" "$uid" <<'PY'
import base64, http.client, json, os, sys, time, urllib.parse
port, pid, wid, wsec, rt, bid, bsec, uid = sys.argv[1:]
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
c = http.client.HTTPConnection("127.0.0.1", int(port))
wauth = "Basic " + base64.b64encode(f"{wid}:{wsec}".encode()).decode()
bauth = "Basic " + base64.b64encode(f"{bid}:{bsec}".encode()).decode()
# Up to 1,000 requests of each kind, or 20 s of them (a slow build still finishes).
def enough(n, t0):
    return n >= 1000 or time.monotonic() - t0 > 20
n, t0, c0 = 0, time.monotonic(), cpu()
while not enough(n, t0):
    n += 1
    c.request("POST", "/oauth/token", urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": rt}),
              {"Authorization": wauth, "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse(); body = json.loads(r.read()); assert r.status == 200, body
    rt = body["refresh_token"]
t1, c1 = time.monotonic(), cpu()
print(f"refresh grant: {(t1-t0)/n*1000:.2f} ms wall, {(c1-c0)/n*1000:.3f} ms server CPU per grant ({n} grants)")
reads = [
    ("Basic-auth read", f"/api/v1/namespaces/bench/users/{uid}"),
    ("a page of 100 users", "/api/v1/namespaces/bench/users?page_size=100"),
    ("search, no match", "/api/v1/namespaces/bench/users?page_size=100&q=zzz"),
    ("search, one match", "/api/v1/namespaces/bench/users?page_size=100&q=u0000123"),
    ("search, every account", "/api/v1/namespaces/bench/users?page_size=100&q=u"),
]
for name, path in reads:
    n, t0, c0 = 0, time.monotonic(), cpu()
    while not enough(n, t0):
        n += 1
        c.request("GET", path, headers={"Authorization": bauth})
        r = c.getresponse(); r.read(); assert r.status == 200
    t1, c1 = time.monotonic(), cpu()
    print(f"{name}: {(t1-t0)/n*1000:.2f} ms wall, {(c1-c0)/n*1000:.3f} ms server CPU per request ({n} requests)")
PY
stop_server
