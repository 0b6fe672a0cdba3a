#!/usr/bin/env bash
# More than one server: two release servers on one PostgreSQL database behind haproxy, with
# the payment load generator pointed through the balancer. Run on demand (not part of the test
# command). Three runs, each ending with the load generator's ledger check (every balance equals
# its journal, and the money that left the accounts equals the payments reported approved, so
# none was lost or made twice):
#   1. one server behind the balancer (the second is not started yet);
#   2. both servers;
#   3. both servers, and the second is killed (SIGKILL) a third of the way in. The balancer
#      takes it out; the payments it was answering get no answer and the load generator sends
#      them again with the same request id, as a till does.
# Usage: scripts/two-servers.sh [seconds per run, default 30] [demo holders, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-30}
HOLDERS=${2:-200}
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
source scripts/postgres.sh
setup_postgres >/dev/null
apt_install haproxy curl
setup_build_tools
# The server serves only with its site (server::check_site): the release build as run.sh makes it.
build_release >/dev/null
cargo build --release -p server --bin loadgen

LB=3930 A=3931 B=3932
db=ykt_two_servers
admin="postgres://$PG_TEST_ROLE:$PG_TEST_PASSWORD@127.0.0.1:$PG_PORT/postgres"
url="postgres://$PG_TEST_ROLE:$PG_TEST_PASSWORD@127.0.0.1:$PG_PORT/$db"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -X -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT
psql -X -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
psql -X -q "$admin" -c "CREATE DATABASE $db"

# Both servers share the data directory, so they share the secrets file (every server of a
# campus needs the same secrets); the first one makes it and loads the demo campus.
start_server() { # NAME PORT
  YIKATONG_ADDR="127.0.0.1:$2" YIKATONG_DATA_DIR="$work" DATABASE_URL="$url" \
    YIKATONG_DEMO_HOLDERS="$HOLDERS" YIKATONG_PRODUCTION=false RUST_LOG=warn \
    LEPTOS_SITE_ROOT="$PWD/target/site" "$TARGET_DIR/release/server" >"$work/$1.log" 2>&1 &
  pids+=($!)
  eval "pid_$1=$!"
  for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "server $1 did not start; its log:" >&2; cat "$work/$1.log" >&2; return 1
}

cat >"$work/haproxy.cfg" <<EOF
global
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  # A connection that could not be made is tried on the other server; a request already sent
  # is not (the device resends it with the same request id).
  retries 3
  option redispatch
  retry-on conn-failure
frontend portal
  bind 127.0.0.1:$LB
  default_backend servers
backend servers
  balance roundrobin
  option httpchk GET /healthz
  server a 127.0.0.1:$A check inter 500ms fall 2 rise 2
  server b 127.0.0.1:$B check inter 500ms fall 2 rise 2
EOF
haproxy -f "$work/haproxy.cfg" -q >"$work/haproxy.log" 2>&1 &
pids+=($!)

loadgen() {
  "$TARGET_DIR/release/loadgen" --url "http://127.0.0.1:$LB" --database-url "$url" \
    --rate 0 --duration "$DURATION" --concurrency 64 --hot 0.2
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $HOLDERS holders"
start_server a "$A"
sleep 2 # the balancer marks b down
echo "== 1. one server behind haproxy, ${DURATION} s at full speed"
loadgen

start_server b "$B"
sleep 2 # the balancer marks b up
echo "== 2. two servers behind haproxy, ${DURATION} s at full speed"
loadgen

echo "== 3. two servers, server b killed after $((DURATION / 3)) s"
(sleep $((DURATION / 3)); kill -9 "$pid_b"; echo "-- killed server b at $(date +%T)") &
loadgen
wait_for_a=$(curl -fsS "http://127.0.0.1:$A/healthz")
echo "server a after the run: $wait_for_a"
