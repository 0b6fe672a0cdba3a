#!/usr/bin/env bash
# Builds the release bundle exactly as scripts/run.sh does and prints what a phone downloads
# for it: the raw size of the wasm, the JS glue and the CSS, and the bytes of the brotli file
# (quality 11) the build stored beside each, which the server sends to a browser that accepts
# brotli (`server/tests/server_start.rs` checks that it does).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
setup_build_tools
build_release >/dev/null
pkg=target/site/pkg
total_raw=0; total_br=0
printf '%-24s %12s %12s\n' file raw brotli
for f in "$pkg"/yikatong.wasm "$pkg"/yikatong.js "$pkg"/yikatong.css; do
  raw=$(stat -c %s "$f")
  br=$(stat -c %s "$f.br")
  total_raw=$((total_raw + raw)); total_br=$((total_br + br))
  printf '%-24s %12d %12d\n' "$(basename "$f")" "$raw" "$br"
done
printf '%-24s %12d %12d\n' total "$total_raw" "$total_br"
