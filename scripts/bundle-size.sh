#!/usr/bin/env bash
# Builds the release bundle (size-optimised wasm, wasm-opt) and prints what a phone downloads:
# raw and brotli-compressed sizes of the wasm, the JS glue and the CSS.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
setup_build_tools
apt_install brotli
cargo leptos build --release >/dev/null
pkg=target/site/pkg
total_raw=0; total_br=0
printf '%-24s %12s %12s\n' file raw brotli
for f in "$pkg"/yikatong.wasm "$pkg"/yikatong.js "$pkg"/yikatong.css; do
  raw=$(stat -c %s "$f")
  br=$(brotli -c -q 11 "$f" | wc -c)
  total_raw=$((total_raw + raw)); total_br=$((total_br + br))
  printf '%-24s %12d %12d\n' "$(basename "$f")" "$raw" "$br"
done
printf '%-24s %12d %12d\n' total "$total_raw" "$total_br"
