#!/usr/bin/env bash
# Fuzzes the Management API with schemathesis against its own OpenAPI document
# (/api/v1/openapi.json), authenticated as the bootstrap client: any 5xx, and any response
# that the document does not declare (status, content type, headers, body schema), fails the
# run. See docs/schemathesis.md.
#
#   scripts/schemathesis.sh                                  # SQLite, a short run (CI)
#   SCHEMATHESIS_EXAMPLES=1000 scripts/schemathesis.sh       # the longer run before a release
#   GATEHOUSE_TEST_DATABASE=postgres scripts/schemathesis.sh # on PostgreSQL at 127.0.0.1:5432
#                                                            # (GATEHOUSE_TEST_POSTGRES_URL)
# Environment: SCHEMATHESIS_EXAMPLES (test cases per operation and phase, default 20),
# SCHEMATHESIS_SEED (replay a run), GATEHOUSE_BIN (a gatehouse binary to test instead of
# building target/debug/gatehouse). Extra arguments go to `schemathesis run`.
# Reports (JUnit, NDJSON, server log) land in target/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_build_deps

SCHEMATHESIS_VERSION=4.32.5
examples="${SCHEMATHESIS_EXAMPLES:-20}"
out=target/schemathesis

if [ "$(python3 -c 'import schemathesis; print(schemathesis.__version__)' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]; then
  say "installing schemathesis $SCHEMATHESIS_VERSION (pip)"
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ -n "${GATEHOUSE_BIN:-}" ]; then
  bin="$GATEHOUSE_BIN"
else
  # A no-op when the tests built it already.
  say "building gatehouse (debug)"
  cargo build --quiet -p gatehouse
  bin=target/debug/gatehouse
fi

mkdir -p "$out"
# Hypothesis's own files (character tables) stay out of the work tree too.
export HYPOTHESIS_STORAGE_DIRECTORY="$out/hypothesis"
work=$(mktemp -d)
server=""
pg_db=""
pg_base="${GATEHOUSE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then psql -q "$pg_base/postgres" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A fresh database, and the master key that seals its signing keys.
if [[ "${GATEHOUSE_TEST_DATABASE:-sqlite}" == postgres* ]]; then
  pg_db="gh_schemathesis_$(date +%s)_$$"
  psql -q "$pg_base/postgres" -c "CREATE DATABASE $pg_db" >/dev/null
  export GATEHOUSE_DATABASE_URL="$pg_base/$pg_db"
else
  export GATEHOUSE_DATABASE_URL="sqlite://$work/gatehouse.db"
fi
GATEHOUSE_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export GATEHOUSE_MASTER_KEY
say "schemathesis $SCHEMATHESIS_VERSION on ${GATEHOUSE_TEST_DATABASE:-sqlite}, $examples examples per operation"

password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
boot=$(printf '%s' "$password" | RUST_LOG=warn "$bin" bootstrap --username admin --password-stdin)
read -r client_id client_secret < <(python3 -c 'import json, sys; b = json.load(sys.stdin); print(b["client_id"], b["client_secret"])' <<<"$boot")

# The server on a free port (it logs the address it got).
log="$out/server-$(date +%Y%m%dT%H%M%S)-$$.log"
RUST_LOG=info,actix_server=warn "$bin" serve --bind 127.0.0.1:0 --workers 2 </dev/null >"$log" 2>&1 &
server=$!
base=""
for _ in $(seq 600); do
  base=$(sed -n 's/.*gatehouse listening on \(http[^ ]*\).*/\1/p' "$log" | head -n 1)
  [ -n "$base" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "gatehouse serve exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { cat "$log" >&2; echo "gatehouse serve did not start" >&2; exit 1; }

# A namespace for the user operations to work in (tests/schemathesis/schemathesis.toml), so
# that they get past 404.
python3 - "$base" "$client_id" "$client_secret" <<'PY'
import base64, json, sys, urllib.request
base, user, secret = sys.argv[1:]
auth = base64.b64encode(f"{user}:{secret}".encode()).decode()
body = json.dumps({"slug": "fuzz", "display_name": "Schemathesis"}).encode()
request = urllib.request.Request(f"{base}/api/v1/namespaces", data=body, method="POST",
                                 headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"})
urllib.request.urlopen(request).read()
PY

# Every check; tests/schemathesis/schemathesis.toml and docs/schemathesis.md say where a
# check's expectations are adjusted and why.
status=0
python3 -m schemathesis.cli --config-file tests/schemathesis/schemathesis.toml run "$base/api/v1/openapi.json" \
  --auth "$client_id:$client_secret" \
  --checks all \
  --exclude-checks ignored_auth \
  --max-examples "$examples" \
  ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"} \
  --workers 2 \
  --generation-database "$out/examples" \
  --report junit,ndjson --report-dir "$out" \
  "$@" || status=$?

# The server must have survived, and its audit chain must still verify.
if ! kill -0 "$server" 2>/dev/null; then
  echo "gatehouse serve died during the run; see $log" >&2
  status=1
fi
if grep -q "panicked" "$log"; then
  grep -n "panicked" "$log" >&2
  status=1
fi
if ! RUST_LOG=warn "$bin" audit verify >"$work/verify.out" 2>&1; then
  cat "$work/verify.out" >&2
  status=1
fi

if [ "$status" = 0 ]; then say "schemathesis: no failures"; else say "schemathesis: FAILED (reports in $out/)"; fi
exit "$status"
