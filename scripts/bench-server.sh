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

# Logs a demo student with a changed password (README: demo logins) into the server that
# start_bench_server started, and sets `cookie` to the session cookie (`ykt_session=…`).
login_demo_student() {
  cookie=$(curl -fsS -o /dev/null -D - -H 'sec-fetch-site: same-origin' -H 'accept: application/json' \
    --data 'login=2023020215&password=260817' "$base/api/login" | tr -d '\r' |
    sed -n 's/^set-cookie: \(ykt_session=[^;]*\).*/\1/Ip' | head -1)
  [ -n "$cookie" ] || { echo "login failed"; cat "$dir/server.log"; exit 1; }
}
