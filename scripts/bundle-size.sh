#!/usr/bin/env bash
# Builds the release bundle exactly as scripts/run.sh does and prints what a phone downloads:
#   1. each file of the bundle: its raw size and the brotli file (quality 11) the build stored
#      beside it, which the server sends to a browser that takes brotli
#      (`server/tests/server_start.rs` checks that it does);
#   2. the first visit of the home, login, dashboard and 深职通码 pages, as sent over the wire
#      with `accept-encoding: br` by the release server with the demo campus: the page itself
#      and every `/pkg/` file it names (style sheet, script, wasm).
# Run on demand (not part of the test command).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
source scripts/setup.sh
setup_build_tools
build_release >/dev/null
pkg=target/site/pkg
total_raw=0; total_br=0
printf '%-40s %12s %12s\n' file raw brotli
# The release build names each file after its contents: yikatong.<hash>.wasm.
for f in "$pkg"/yikatong.*.wasm "$pkg"/yikatong.*.js "$pkg"/yikatong.*.css; do
  raw=$(stat -c %s "$f")
  br=$(stat -c %s "$f.br")
  total_raw=$((total_raw + raw)); total_br=$((total_br + br))
  printf '%-40s %12d %12d\n' "$(basename "$f")" "$raw" "$br"
done
printf '%-40s %12d %12d\n' total "$total_raw" "$total_br"

source scripts/bench-server.sh
start_bench_server 3203 48
# A demo student's session, for the portal pages.
login_demo_student
wire() { # PATH: bytes sent for it with brotli accepted
  curl -fsS -o /dev/null -w '%{size_download}' -H 'accept-encoding: br' -H "cookie: $cookie" "$base$1"
}
echo
printf '%-14s %10s %12s %12s\n' page page files total
for page in home:/ login:/login dashboard:/portal code:/portal/code; do
  name=${page%%:*} path=${page#*:}
  html=$(curl -fsS --compressed -H "cookie: $cookie" "$base$path")
  page_bytes=$(wire "$path")
  files=0
  for file in $(grep -o '/pkg/[A-Za-z0-9_.-]*' <<<"$html" | sort -u); do
    files=$((files + $(wire "$file")))
  done
  printf '%-14s %10d %12d %12d\n' "$name" "$page_bytes" "$files" "$((page_bytes + files))"
done
