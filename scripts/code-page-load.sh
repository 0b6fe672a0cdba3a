#!/usr/bin/env bash
# What open 深职通码 pages cost one server process, run on demand (not part of the test
# command). A release server on a fresh SQLite database with the demo campus; a demo student
# logs in; wrk asks for pay codes (`POST /api/pay_code`, what an open code page sends) as fast
# as the server answers, for DURATION seconds with 16 connections.
#
# From the measured rate R (codes a second), the open pages one process carries:
#   - polling every 3 s (the page before issue #15): R × 3 pages;
#   - asking once per code, 5 s before it expires (the page now): R × 55 pages, each also
#     holding one idle event stream (`/events/pay-code`, a keep-alive comment every 15 s).
# Usage: scripts/code-page-load.sh [seconds, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20}
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
source scripts/setup.sh
setup_build_tools
# The server serves only with its site (server::check_site): the release build as run.sh makes it.
build_release >/dev/null
source scripts/bench-server.sh
start_bench_server 3201 48
# A demo student's session, for the portal pages.
login_demo_student
curl -fsS -H "cookie: $cookie" -H 'sec-fetch-site: same-origin' -H 'accept: application/json' \
  -X POST "$base/api/pay_code" | grep -q '"digits"' || { echo "no pay code"; exit 1; }
cat >"$dir/pay_code.lua" <<LUA
wrk.method = "POST"
wrk.headers["cookie"] = "$cookie"
wrk.headers["sec-fetch-site"] = "same-origin"
wrk.headers["accept"] = "application/json"
wrk.headers["content-type"] = "application/x-www-form-urlencoded"
LUA
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
out=$(wrk -t2 -c16 -d"${DURATION}s" --latency -s "$dir/pay_code.lua" "$base/api/pay_code")
echo "$out"
rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
[ -z "$non2xx" ] || { echo "refused answers: $non2xx (see $dir/server.log)"; exit 1; }
awk -v r="$rate" 'BEGIN {
  printf "pay codes answered: %.0f/s\n", r;
  printf "open code pages carried, polling every 3 s (before): %.0f\n", r * 3;
  printf "open code pages carried, one request per code (now): %.0f\n", r * 55;
}'
