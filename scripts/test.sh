#!/usr/bin/env bash
# Runs every test: unit tests, the black-box HTTP tests against the real binary, the browser
# tests of the console (Chromium through chromedriver), and the wasm32 build of the console and
# the shared types. Installs what it needs when it is missing.
#
#   scripts/test.sh                                    # on embedded SQLite
#   GATEHOUSE_TEST_DATABASE=postgres scripts/test.sh   # on PostgreSQL at 127.0.0.1:5432
#                                                      # (GATEHOUSE_TEST_POSTGRES_URL to change)
# Extra arguments go to cargo nextest (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_build_deps
ensure_nextest
ensure_wasm_target
ensure_python_module aiosmtpd aiosmtpd   # a real SMTP server for the registration tests
ensure_python_module standardwebhooks standardwebhooks   # an independent check of the log streams' signatures
ensure_python_module pyotp pyotp   # an independent TOTP implementation for the second-factor tests
ensure_python_module scim2_tester 'scim2-tester[httpx2]==0.5.*'   # an independent SCIM 2.0 compliance checker
ensure_python_module scim2_client 'scim2-client[httpx2]'   # scim2-client with its HTTP engine (the SCIM provisioning tests)
ensure_openid_client                      # the OpenID-certified relying party library (npm)
ensure_browser                            # Chromium and chromedriver for the console tests

# The console (and with it the shared types) for wasm32; the server embeds it.
./scripts/build-console.sh

say "running the tests on ${GATEHOUSE_TEST_DATABASE:-sqlite}"
cargo nextest run --workspace --profile "${NEXTEST_PROFILE:-default}" "$@"
