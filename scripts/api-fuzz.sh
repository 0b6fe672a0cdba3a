#!/usr/bin/env bash
# Schema-driven fuzzing of the signed device API: Schemathesis generates requests from the
# OpenAPI document the server serves (/api/device/v1/openapi.json), signs each one as a device
# does (scripts/api-fuzz/hooks.py), and checks every answer against the document: status codes,
# content types, response schemas, and no 5xx. Each part of the API runs as the device kind it
# is for (a till, a kiosk, a gate). Not part of scripts/test.sh (it takes minutes); run it on
# demand against the release build: scripts/api-fuzz.sh [EXAMPLES_PER_OPERATION]
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-100}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
server="$target/release/server"
[ -x "$server" ] || { echo "build the release server first (scripts/run.sh builds it)"; exit 1; }
venv=scripts/api-fuzz/.venv
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r scripts/api-fuzz/requirements.txt
fi
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export YIKATONG_ADDR="127.0.0.1:$port" YIKATONG_DATA_DIR="$dir" DATABASE_URL="sqlite://$dir/fuzz.db" \
  YIKATONG_DEMO_HOLDERS=12 LEPTOS_SITE_ROOT="$PWD/target/site" RUST_LOG=warn
devices=(POS-E-CANTEEN-1 KIOSK-E-ADMIN GATE-E-DORM)
mapfile -t keys < <("$server" issue-device-key "${devices[@]}" 2>"$dir/keys.log")
[ "${#keys[@]}" -eq "${#devices[@]}" ] || { echo "issuing the device keys failed:"; cat "$dir/keys.log"; exit 1; }
"$server" >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
rc=0
run() {
  local device=$1 key=$2; shift 2
  echo "== $device: $*"
  YKT_FUZZ_DEVICE="$device" YKT_FUZZ_KEY="$key" YKT_FUZZ_TALLY="$dir/tally" \
    SCHEMATHESIS_HOOKS=hooks PYTHONPATH=scripts/api-fuzz \
    "$venv/bin/st" run "http://127.0.0.1:$port/api/device/v1/openapi.json" \
      --checks all --hypothesis-max-examples "$examples" --hypothesis-suppress-health-check=all \
      --hypothesis-derandomize --experimental=openapi-3.1 --data-generation-method all "$@" || rc=1
}
run "${devices[0]}" "${keys[0]}" --include-path-regex '^/api/device/v1/(pay|refund|balance)$'
run "${devices[1]}" "${keys[1]}" --include-path-regex '^/api/device/v1/kiosk/'
run "${devices[2]}" "${keys[2]}" --include-path-regex '^/api/device/v1/access$'
# What the server answered, per operation. Signed requests are the point: an operation with
# more than a fifth of its answers 401 means the signing hook did not work, and the run tested
# little past the signature check.
echo "== answers"
cat "$dir/tally"
if grep 'unauthorized=' "$dir/tally" | awk '{ split($NF, u, "="); if (u[2] > 0.2) bad = 1 } END { exit !bad }'; then
  echo "more than a fifth of the answers were 401: the requests were not signed as the server expects"; rc=1
fi
if grep -q "panicked" "$dir/server.log"; then echo "the server panicked:"; grep -m5 panicked "$dir/server.log"; rc=1; fi
exit $rc
