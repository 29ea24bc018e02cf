#!/usr/bin/env bash
# NDJSON import rate: ROWS accounts through `POST /api/v1/namespaces/{ns}/users:import`, in
# requests of 100,000 NDJSON rows (the import's limit), one request at a time, against a fresh
# release server. Every batch carries rows that must fail (a username taken by an earlier
# batch, an email taken within the batch, a row with an invalid username), and one row in
# five brings a PHC `password_hash` (bcrypt). Prints rows/s and the server's CPU per row
# (/proc/<pid>/stat; PostgreSQL's own processes not counted), and checks each answer's
# `created`, `failed` and errors, then the number of accounts. Issue 15: on PostgreSQL it
# prints the target (>= 20,000 rows/s) and whether it is met.
#
#   bench/import.sh [sqlite|postgres] [ROWS]        (default sqlite 1000000)
#   IMPORT_BIN=/path/to/gatehouse bench/import.sh …  (another build, e.g. the one before a change)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib.sh
BACKEND=${1:-sqlite}
ROWS=${2:-1000000}
BATCH=100000
if [ -n "${IMPORT_BIN:-}" ]; then
  bin=$IMPORT_BIN
else
  cargo build --profile "$profile" --quiet -p gatehouse
fi
work=$(mktemp -d)
name="import_bench_$$"
trap 'stop_server; drop_database "$BACKEND" "$name"; rm -rf "$work"' EXIT
new_master_key
fresh_database "$BACKEND" "$work" "$name"
RUST_LOG=warn "$bin" migrate >/dev/null
bootstrap
port=$(free_port)
start_server "$port" "$work/server.log" --issuer "http://127.0.0.1:$port"
base="http://127.0.0.1:$port"
curl -fs -X POST -H "$auth" -H 'content-type: application/json' -d '{"slug":"big","display_name":"Big"}' \
  "$base/api/v1/namespaces" >/dev/null
echo "$BACKEND: writing $ROWS rows in batches of $BATCH" >&2
python3 - "$work" "$ROWS" "$BATCH" <<'PY'
import json, sys
work, rows, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bcrypt = "$2b$04$p3L02m8UBj.xaqidqzJRn.vemhbXF0MXv6XyQybzBfF2I0G.zHXb6"
n = 0
for b, start in enumerate(range(0, rows, batch)):
    size = min(batch, rows - start)
    with open(f"{work}/batch{b:04d}.ndjson", "w") as out:
        for i in range(start, start + size):
            j = i - start
            if j == 10 and start > 0:    # username of the previous batch's first row
                row = {"username": f"user{start - batch:08d}", "email": f"again{i}@example.com"}
            elif j == 20:                # email of this batch's first row
                row = {"username": f"dup{i:08d}", "email": f"user{start:08d}@example.com"}
            elif j == 30:                # invalid username
                row = {"username": f"bad name {i}"}
            else:
                row = {"username": f"user{i:08d}", "email": f"user{i:08d}@example.com", "given_name": "Given",
                       "family_name": f"Family{i}"}
                if i % 5 == 0:
                    row["password_hash"] = bcrypt
            out.write(json.dumps(row, separators=(",", ":")) + "\n")
PY
before=$(cpu_ticks "$server_pid")
python3 - "$base" "$boot_id" "$boot_secret" "$work" "$ROWS" "$BATCH" <<'PY'
import base64, glob, json, sys, time, urllib.request
base, cid, secret, work, rows, batch = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
auth = "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()
bodies = [open(f, "rb").read() for f in sorted(glob.glob(f"{work}/batch*.ndjson"))]
start, created, failed = time.monotonic(), 0, 0
for b, body in enumerate(bodies):
    size = body.count(b"\n")
    req = urllib.request.Request(f"{base}/api/v1/namespaces/big/users:import", data=body, method="POST",
                                 headers={"Authorization": auth, "Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=600) as answer:
        result = json.load(answer)
    want = [i for i in (10, 20, 30) if i < size and (i != 10 or b > 0)]
    fields = {10: "username", 20: "email", 30: "username"}
    got = [(e["index"], e["errors"][0]["field"]) for e in result["errors"]]
    if got != [(i, fields[i]) for i in want] or result["failed"] != len(want) or result["created"] != size - len(want):
        sys.exit(f"batch {b}: unexpected answer {json.dumps(result)[:2000]}")
    created += result["created"]
    failed += result["failed"]
    done = b * batch + size
    print(f"  {done} rows: {done / (time.monotonic() - start):.0f} rows/s so far", file=sys.stderr, flush=True)
elapsed = time.monotonic() - start
print(f"{rows} rows in {elapsed:.1f} s: {rows / elapsed:.0f} rows/s ({created} created, {failed} failed as expected)")
open(f"{work}/created", "w").write(str(created))
open(f"{work}/rate", "w").write(f"{rows / elapsed:.0f}")
PY
after=$(cpu_ticks "$server_pid")
python3 -c "t=$(getconf CLK_TCK); print('server CPU: %.1f s, %.1f us per row' % (($after-$before)/t, ($after-$before)/t*1e6/$ROWS))"
created=$(cat "$work/created")
if [ "$BACKEND" = postgres ]; then
  stored=$(psql "$GATEHOUSE_DATABASE_URL" -Atc "SELECT count(*) FROM accounts WHERE namespace = 'big'")
else
  stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM accounts WHERE namespace = 'big'\").fetchone()[0])" "${GATEHOUSE_DATABASE_URL#sqlite://}")
fi
[ "$stored" = "$created" ] || { echo "answers say $created created, the database holds $stored" >&2; exit 1; }
echo "$BACKEND: $stored accounts stored, as answered"
# How fast this machine is today: rows/s from different days compare only beside this.
sign_ms=$(openssl speed -seconds 1 rsa2048 2>/dev/null | awk '/^rsa 2048/ {printf "%.3f", $4 * 1000}' || true)
echo "machine reference: one RSA-2048 signature (openssl speed) ${sign_ms:-?} ms"
rate=$(cat "$work/rate")
if [ "$BACKEND" = postgres ]; then
  verdict="**not met**"; [ "$rate" -ge 20000 ] && verdict=met
  echo
  echo "| backend | NDJSON import with PHC hashes | target (issue 15) | met? |"
  echo "|---|---|---|---|"
  echo "| postgres | $rate rows/s | >= 20,000 rows/s | $verdict |"
fi
