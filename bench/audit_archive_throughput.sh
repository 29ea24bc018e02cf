#!/usr/bin/env bash
# Archive throughput: fills a fresh database's audit chain with N valid events (a realistic
# mix: reads with request ids and addresses, token grants and changes with JSON changes), then
# times `gatehouse audit archive` (segments written, signed, fsynced, events deleted) and
# `gatehouse audit verify --archive`. The chain is built here, hashed exactly as the server
# hashes it, so that archiving (which refuses a broken chain) accepts it.
#
#   bench/audit_archive_throughput.sh [N] [sqlite|postgres]   (default 200000 sqlite)
# Needs a release build (cargo build --release -p gatehouse); PostgreSQL at 127.0.0.1:5432.
set -euo pipefail
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

python3 - "$N" "$WORK/events.csv" <<'EOF'
import csv, hashlib, struct, sys, uuid, datetime
n, path = int(sys.argv[1]), sys.argv[2]
start = datetime.datetime(2020, 1, 1)
prev = "0" * 64
def field(h, v):
    if v is None:
        h.update(struct.pack(">Q", 2**64 - 1))
    else:
        b = v.encode()
        h.update(struct.pack(">Q", len(b))); h.update(b)
with open(path, "w", newline="") as f:
    w = csv.writer(f)
    for seq in range(1, n + 1):
        t = start + datetime.timedelta(microseconds=seq * 1000)
        kind = seq % 3
        if kind < 2:
            action, changes, target = "user.read", None, ("account", str(uuid.UUID(int=seq)))
        else:
            action, changes, target = "oauth.token", '{"grant_type":"client_credentials","scope":"users:read@customers"}', ("client", "c%08d" % (seq % 50))
        e = [str(seq), str(uuid.UUID(int=seq + 10**12)), t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "client", "c%08d" % (seq % 50),
             str(uuid.UUID(int=seq % 50)), action, target[0], target[1], "customers", "success",
             str(uuid.UUID(int=seq + 2 * 10**12)), "127.0.0.1", changes, prev]
        h = hashlib.sha256()
        for v in e:
            field(h, v)
        digest = h.hexdigest()
        row = e[:]; row[2] = t.strftime("%Y-%m-%d %H:%M:%S.%f")
        w.writerow([("\\N" if v is None else v) for v in row] + [digest])
        prev = digest
print(prev, file=open(path + ".head", "w"))
EOF
HEAD=$(cat "$WORK/events.csv.head")
COLS="seq,id,time,actor_type,actor_id,actor_owner_account_id,action,target_type,target_id,namespace,outcome,request_id,ip,changes,prev_hash,hash"
if [ "$BACKEND" = postgres ]; then
    psql "$GATEHOUSE_DATABASE_URL" -qc "\\copy audit_events ($COLS) FROM '$WORK/events.csv' WITH (FORMAT csv, NULL '\\N')"
    psql "$GATEHOUSE_DATABASE_URL" -qc "UPDATE audit_chain_head SET seq = $N, hash = '$HEAD'"
    psql "$GATEHOUSE_DATABASE_URL" -qc "VACUUM ANALYZE audit_events"
else
    sqlite3 "$WORK/g.db" <<SQL
CREATE TEMP TABLE import ($COLS);
.mode csv
.import $WORK/events.csv import
INSERT INTO audit_events ($COLS) SELECT seq, id, time, actor_type, actor_id, actor_owner_account_id, action,
  target_type, target_id, namespace, outcome, request_id, ip, NULLIF(changes, '\\N'), prev_hash, hash FROM import;
UPDATE audit_chain_head SET seq = $N, hash = '$HEAD';
SQL
fi
echo "$BACKEND: $N events in the live chain"
RUST_LOG=warn "$BIN" audit archive --before 2021-01-01T00:00:00Z --out "$WORK/archive" | tail -1
du -sh "$WORK/archive" | awk '{print "archive size: " $1}'
start=$(date +%s.%N)
RUST_LOG=warn "$BIN" audit verify --archive "$WORK/archive"
end=$(date +%s.%N)
python3 -c "print('verify --archive: %.1f s (%.0f events/s)' % ($end - $start, $N / ($end - $start)))"
