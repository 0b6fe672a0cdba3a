#!/usr/bin/env bash
# Command 2: installs what is missing, then runs every check and test:
#   formatting, clippy per crate (warnings are errors), unit and integration tests (the real
#   server on port 0 with its own database), the release build that command 1 (scripts/run.sh)
#   serves, and the Playwright journeys in Debian Chromium at a desktop and a phone viewport
#   against that very build.
# Exits non-zero if anything fails and ends with one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/postgres.sh

TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
LOGS=$(mktemp -d)
FAILED_STEPS=()
PASSED=0
FAILED=0
SKIPPED=0

step() {
  local name=$1; shift
  log "$name"
  if ! "$@"; then FAILED_STEPS+=("$name"); return 1; fi
}

# Adds the counts of every "test result:" line of a cargo test log.
count_cargo() {
  local counts
  counts=$(awk '/^test result:/ {
      for (i = 1; i <= NF; i++) {
        if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i
      }
    } END { print p + 0, f + 0, s + 0 }' "$1")
  read -r p f s <<<"$counts"
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s))
}

# Per backend: "sqlite" or "postgres" → "passed failed" of the backend-dependent runs.
declare -A BACKEND_COUNTS=()

cargo_tests() {
  local log_file="$LOGS/$1.log"; shift
  # --no-fail-fast: one failing test binary must not hide the results of the others.
  cargo test --no-fail-fast "$@" 2>&1 | tee "$log_file"
  local rc=${PIPESTATUS[0]}
  count_cargo "$log_file"
  return "$rc"
}

# The same tests on one backend (YIKATONG_TEST_BACKEND), counted for that backend too.
backend_tests() {
  local backend=$1 name=$2; shift 2
  local before_p=$PASSED before_f=$FAILED rc=0
  YIKATONG_TEST_BACKEND=$backend cargo_tests "$name-$backend" "$@" || rc=$?
  local p=$((PASSED - before_p)) f=$((FAILED - before_f)) old=${BACKEND_COUNTS[$backend]:-"0 0"}
  read -r op of <<<"$old"
  BACKEND_COUNTS[$backend]="$((op + p)) $((of + f))"
  return "$rc"
}

SERVER_PID=
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=; }
trap stop_server EXIT

end_to_end() {
  local port dir
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  dir=$(mktemp -d)
  # The server's clock starts at a fixed moment (a Wednesday in term time, 10:30 campus time),
  # so the demo campus and every journey see the same day whatever the calendar says.
  export YIKATONG_ADDR="127.0.0.1:$port" YIKATONG_DATA_DIR="$dir" DATABASE_URL="sqlite://$dir/e2e.db" \
    YIKATONG_DEMO_HOLDERS=12 LEPTOS_SITE_ROOT="$PWD/target/site" RUST_LOG=warn \
    YIKATONG_CLOCK_START="${E2E_CLOCK_START:-2026-10-14T10:30:00+08:00}" YIKATONG_CLOCK_CONTROL=true
  # Credentials for the devices the till journeys use (the tills are set up with them in the
  # browser; the gates sign their requests in the test).
  local devices=(POS-E-CANTEEN-1 POS-E-CANTEEN-2 GATE-E-DORM GATE-LIBRARY KIOSK-E-ADMIN KIOSK-W-T2) keys
  keys=$("$TARGET_DIR/release/server" issue-device-key "${devices[@]}" 2>"$LOGS/e2e-keys.log") || { cat "$LOGS/e2e-keys.log"; return 1; }
  E2E_DEVICE_KEYS=$(paste -d= <(printf '%s\n' "${devices[@]}") <(printf '%s\n' "$keys") | paste -sd,)
  export E2E_DEVICE_KEYS
  "$TARGET_DIR/release/server" >"$LOGS/e2e-server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOGS/e2e-server.log"; return 1; }
    sleep 0.5
  done
  (cd end2end && BASE_URL="http://127.0.0.1:$port" npx playwright test)
  local rc=$?
  local counts
  counts=$(node -e '
    const r = require("./end2end/test-results/results.json").stats;
    console.log(r.expected + r.flaky, r.unexpected, r.skipped);' 2>/dev/null || echo "0 1 0")
  read -r p f s <<<"$counts"
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s))
  stop_server
  return "$rc"
}

step "installing build tools" setup_build_tools || { echo "summary: 0 passed, 1 failed"; exit 1; }
step "installing test tools" setup_test_tools || { echo "summary: 0 passed, 1 failed"; exit 1; }
# A local PostgreSQL (Debian's package where missing) for the second run of the store tests.
step "installing and starting PostgreSQL" setup_postgres || { echo "summary: 0 passed, 1 failed"; exit 1; }
command -v curl >/dev/null || apt_install curl

step "rustfmt" cargo fmt --all --check
step "no import cycles between modules" python3 scripts/module-cycles.py app/src server/src
step "clippy: app (server side)" cargo clippy -p app --features ssr --all-targets -- -D warnings
step "clippy: server" cargo clippy -p server --all-targets -- -D warnings
step "clippy: frontend (wasm, app hydrate)" cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
# Every unit and integration test runs once per backend: the backend-dependent ones (the store,
# the ledger property and race tests, every integration test) on SQLite and on PostgreSQL.
for backend in sqlite postgres; do
  step "unit tests: app ($backend)" backend_tests "$backend" app -p app --features ssr
  step "integration tests: server ($backend)" backend_tests "$backend" server -p server
done
# The release build, exactly as scripts/run.sh makes and serves it: the journeys test what a
# newcomer gets (a debug build hid a release bundle that never hydrated).
step "build: release wasm bundle and server (cargo leptos build --release --precompress)" build_release && \
  step "release bundle: its externref table is exported as one" python3 scripts/check-wasm.py target/site/pkg/yikatong.*.wasm && \
  step "end-to-end: Playwright in Chromium (desktop + phone) against the release build" end_to_end

if [ ${#FAILED_STEPS[@]} -gt 0 ]; then
  echo "failed steps:"; printf '  - %s\n' "${FAILED_STEPS[@]}"
  [ "$FAILED" -eq 0 ] && FAILED=${#FAILED_STEPS[@]}
fi
for backend in sqlite postgres; do
  read -r p f <<<"${BACKEND_COUNTS[$backend]:-0 0}"
  echo "backend $backend: $p passed, $f failed (unit + integration)"
done
echo "summary: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ ${#FAILED_STEPS[@]} -eq 0 ] && [ "$FAILED" -eq 0 ]
