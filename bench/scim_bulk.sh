#!/usr/bin/env bash
# SCIM provisioning rate: N users created through `POST /scim/v2/{ns}/Bulk` (requests of
# BATCH operations, each a User with userName, name, emails, externalId, active — what Entra ID
# and Okta send), one request at a time as a directory does, against a fresh release server.
# Prints users/s and the server's CPU per user (from /proc/<pid>/stat), then checks through
# the Management API that every user exists. Issue 17.
#
#   bench/scim_bulk.sh [N] [sqlite|postgres] [BATCH]   (default 10000 sqlite 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib.sh
N=${1:-10000}
BACKEND=${2:-sqlite}
BATCH=${3:-1000}
cargo build --profile "$profile" --quiet -p gatehouse
work=$(mktemp -d)
name="scim_bulk_$$"
trap 'stop_server; drop_database "$BACKEND" "$name"; rm -rf "$work"' EXIT
new_master_key
fresh_database "$BACKEND" "$work" "$name"
RUST_LOG=warn "$bin" migrate >/dev/null
bootstrap
port=$(free_port)
start_server "$port" "$work/server.log" --issuer "http://127.0.0.1:$port"
base="http://127.0.0.1:$port"
curl -fs -X POST -H "$auth" -H 'content-type: application/json' -d '{"slug":"directory","display_name":"Directory"}' \
  "$base/api/v1/namespaces" >/dev/null
before=$(cpu_ticks "$server_pid")
python3 - "$base" "$boot_id" "$boot_secret" "$N" "$BATCH" <<'PY'
import base64, json, sys, time, urllib.request
base, cid, secret, n, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
auth = "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()
start, made = time.monotonic(), 0
while made < n:
    ops = []
    for i in range(made, min(n, made + batch)):
        ops.append({"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"user{i:07d}", "externalId": f"ext-{i}", "active": True,
            "name": {"givenName": "Given", "familyName": f"Family{i}"},
            "emails": [{"value": f"user{i}@directory.example", "type": "work", "primary": True}]}})
    body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                       "failOnErrors": 1, "Operations": ops}).encode()
    req = urllib.request.Request(f"{base}/scim/v2/directory/Bulk", data=body, method="POST",
                                 headers={"Authorization": auth, "Content-Type": "application/scim+json"})
    with urllib.request.urlopen(req) as answer:
        result = json.load(answer)
    bad = [o for o in result["Operations"] if not str(o.get("status", "")).startswith("201")]
    if bad:
        sys.exit(f"a Bulk operation failed: {bad[0]}")
    made += len(ops)
elapsed = time.monotonic() - start
print(f"{n} users in {elapsed:.1f} s: {n / elapsed:.0f} users/s (Bulk requests of {batch})")
PY
after=$(cpu_ticks "$server_pid")
python3 -c "t=$(getconf CLK_TCK); print('server CPU: %.2f s, %.3f ms per user' % (($after-$before)/t, ($after-$before)/t*1000/$N))"
count=$(curl -fs -H "$auth" "$base/scim/v2/directory/Users?count=1" | json "['totalResults']")
[ "$count" = "$N" ] || { echo "expected $N users, SCIM lists $count" >&2; exit 1; }
echo "$BACKEND: all $N users listed"
