#!/usr/bin/env bash
# The payment benchmark, run on demand (not part of the test command): a release server on a
# fresh SQLite database with 200 demo holders, then the load generator at a fixed 500/s and at
# full speed. Usage: scripts/bench.sh [seconds per run, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-60}
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
source scripts/setup.sh
setup_build_tools
# The server serves only with its site (server::check_site): the release build as run.sh makes it.
build_release >/dev/null
cargo build --release -p server --bin loadgen
source scripts/bench-server.sh
start_bench_server 3200 200
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for rate in 500 0; do
  echo "== loadgen --rate $rate --duration $DURATION"
  "$TARGET_DIR/release/loadgen" --url "http://127.0.0.1:$port" --database-url "sqlite://$dir/bench.db" \
    --rate "$rate" --duration "$DURATION" --concurrency 64 --hot 0.2
done
