# Shared by bench/run.sh, bench/soak.sh and bench/peer.sh; sourced from the repository root
# after scripts/lib.sh.

# BENCH_PROFILE=profiling runs the build with line tables (the same code, for perf).
profile="${BENCH_PROFILE:-release}"
bench_bin="target/$profile"
bin="$bench_bin/gatehouse"
pg_base="${GATEHOUSE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
basic_auth() { printf 'Authorization: Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }

# wrk summary -> "requests/s p99_ms non2xx"
wrk_stats() {
  awk '
    /Requests\/sec:/ { rps = $2 }
    /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 } p99 = v }
    /Non-2xx/ { bad = $5 }
    END { printf "%.0f %.2f %d\n", rps, p99, bad + 0 }'
}

# Every replica (and every command) of a database shares its master key.
new_master_key() {
  GATEHOUSE_MASTER_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
  export GATEHOUSE_MASTER_KEY
}

# fresh_database <sqlite|postgres> <work dir> <name>: creates an empty database and exports
# GATEHOUSE_DATABASE_URL. PostgreSQL is reached over loopback without TLS, as a deployment
# whose database shares its host would (Debian's PostgreSQL has `ssl = on`, and libpq's default
# `sslmode=prefer` would encrypt every round trip); BENCH_PG_SSLMODE=prefer measures with TLS.
fresh_database() {
  local backend=$1 work=$2 name=$3
  if [ "$backend" = sqlite ]; then
    GATEHOUSE_DATABASE_URL="sqlite://$work/$name.db"
  else
    PGOPTIONS=--client-min-messages=warning psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null
    GATEHOUSE_DATABASE_URL="$pg_base/$name?sslmode=${BENCH_PG_SSLMODE:-disable}"
  fi
  export GATEHOUSE_DATABASE_URL
}

# drop_database <sqlite|postgres> <name>: drops what fresh_database created on PostgreSQL.
drop_database() {
  [ "$1" = postgres ] || return 0
  PGOPTIONS=--client-min-messages=warning psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS $2 WITH (FORCE)" >/dev/null
}

# bootstrap: bootstraps $GATEHOUSE_DATABASE_URL; sets boot_id, boot_secret and auth (the
# bootstrap client's Authorization header, holding *:*@*).
bootstrap() {
  local boot; boot=$(printf 'bench admin password' | "$bin" bootstrap --username admin --password-stdin)
  boot_id=$(echo "$boot" | json "['client_id']")
  boot_secret=$(echo "$boot" | json "['client_secret']")
  auth=$(basic_auth "$boot_id" "$boot_secret")
}

# start_server <port> <log> [serve flags…]: starts the release server on
# $GATEHOUSE_DATABASE_URL in the background, sets server_pid and waits for /healthz.
start_server() {
  local port=$1 log=$2; shift 2
  # RUST_LOG=warn unless BENCH_LOG_DEFAULT=1: the product's default (info, a line per request).
  if [ -n "${BENCH_LOG_DEFAULT:-}" ]; then
    env -u RUST_LOG "$bin" serve --bind "127.0.0.1:$port" "$@" >>"$log" 2>&1 &
  else
    RUST_LOG=warn "$bin" serve --bind "127.0.0.1:$port" "$@" >>"$log" 2>&1 &
  fi
  server_pid=$!
  until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

# CPU time (user + system) of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
