# Sourced by the benchmark scripts: starts a release server on a fresh SQLite database with the
# demo campus and waits until it answers. Sets `dir` (its data directory, with server.log),
# `port` and `base`; stops the server and removes the directory when the script exits.
# Usage: start_bench_server PORT DEMO_HOLDERS (TARGET_DIR must be set).
start_bench_server() {
  port=$1
  dir=$(mktemp -d)
  base="http://127.0.0.1:$port"
  export YIKATONG_ADDR="127.0.0.1:$port" YIKATONG_DATA_DIR="$dir" DATABASE_URL="sqlite://$dir/bench.db" \
    YIKATONG_DEMO_HOLDERS="$2" YIKATONG_PRODUCTION=false RUST_LOG=warn LEPTOS_SITE_ROOT="$PWD/target/site"
  "$TARGET_DIR/release/server" >"$dir/server.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
  for _ in $(seq 1 240); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
}
