#!/usr/bin/env bash
# Builds Gatehouse and serves it on embedded SQLite at http://localhost:8080 (listening on
# 127.0.0.1:8080; the issuer is http://localhost:8080 so that passkeys work: a WebAuthn
# relying party needs a domain name) (API at /api/v1, console at /console/). On the first run it bootstraps the database and
# prints the administrator's credentials once. Installs what it needs when it is missing.
#
# Environment: GATEHOUSE_DATABASE_URL (default sqlite://gatehouse.db), GATEHOUSE_BIND, GATEHOUSE_ISSUER,
# GATEHOUSE_ADMIN_PASSWORD (first run only; default: generated and printed).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_build_deps

export GATEHOUSE_DATABASE_URL="${GATEHOUSE_DATABASE_URL:-sqlite://gatehouse.db}"
bind="${GATEHOUSE_BIND:-127.0.0.1:8080}"
export GATEHOUSE_ISSUER="${GATEHOUSE_ISSUER:-http://localhost:${bind##*:}}"

./scripts/build-console.sh
say "building gatehouse (release)"
cargo build --release --quiet -p gatehouse
bin="${CARGO_TARGET_DIR:-target}/release/gatehouse"

password="${GATEHOUSE_ADMIN_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}"
if boot=$(printf '%s' "$password" | "$bin" bootstrap --username admin --password-stdin 2>/tmp/gatehouse-bootstrap.err); then
  say "bootstrapped a new database; keep these, they are shown only once:"
  echo "  administrator: admin / $password"
  echo "  API client:    $boot"
  # The note that the first console sign-in enrols a second factor.
  sed 's/^gatehouse: /  /' /tmp/gatehouse-bootstrap.err
elif ! grep -q "already bootstrapped" /tmp/gatehouse-bootstrap.err; then
  cat /tmp/gatehouse-bootstrap.err >&2
  exit 1
fi

say "serving on $GATEHOUSE_ISSUER (listening on $bind; Ctrl-C stops)"
exec "$bin" serve
