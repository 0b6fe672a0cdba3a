#!/usr/bin/env bash
# How many open 深职通码 pages one server process holds, run on demand (not part of the test
# command). Each open code page keeps one event stream (`GET /events/pay-code`) and asks for a
# code about once a minute. A release server on a fresh SQLite database with the demo campus;
# STREAMS streams are opened (4 per demo holder: a holder's fifth would take the oldest one's
# place) and held; then wrk asks for pay codes for DURATION seconds, as the code-page load does
# (`scripts/code-page-load.sh`), to see what the held streams cost the requests. Reported: the
# server's memory before and after opening the streams, the streams still open at the end, and
# the pay-code rate with them held.
#
# The sessions behind the streams are written into the benchmark's own database before the
# streams open (logging 2,500 holders in would measure argon2, not the streams).
# Usage: scripts/event-streams-load.sh [streams, default 10000] [seconds, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
STREAMS=${1:-10000}
DURATION=${2:-20}
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
# Each stream is a descriptor on both sides: as many as this machine allows.
ulimit -n "$(ulimit -Hn)"
source scripts/setup.sh
setup_build_tools
# The server serves only with its site (server::check_site): the release build as run.sh makes it.
build_release >/dev/null
source scripts/bench-server.sh
holders=$(( (STREAMS + 3) / 4 ))
start_bench_server 3202 "$holders"
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "server memory, idle: $(( $(rss) / 1024 )) MiB"
cat >"$dir/streams.py" <<'PY'
import asyncio, hashlib, secrets, sqlite3, sys, datetime, time
db, streams, port, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
now = datetime.datetime.now(datetime.timezone.utc)
stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
later = (now + datetime.timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
con = sqlite3.connect(db, timeout=30)
holders = [r[0] for r in con.execute("SELECT id FROM cardholders ORDER BY id")]
con.execute("UPDATE cardholders SET query_pw_is_initial = 0")
tokens = []
for i in range(streams):
    holder = holders[(i // 4) % len(holders)]
    if i % 4 == 0:
        token = secrets.token_hex(32)
        con.execute(
            "INSERT INTO sessions (token_hash, subject_kind, subject_id, created_at, last_seen_at, expires_at) VALUES (?, 'holder', ?, ?, ?, ?)",
            (hashlib.sha256(token.encode()).hexdigest(), holder, stamp, stamp, later),
        )
    tokens.append(token)
con.commit()
con.close()
open(out, "w").write(tokens[0])

closed = []

async def hold(token, opened, ended):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /events/pay-code HTTP/1.1\r\nHost: 127.0.0.1\r\ncookie: ykt_session={token}\r\n"
            f"sec-fetch-site: same-origin\r\naccept: text/event-stream\r\n\r\n".encode()
        )
        status = await reader.readline()
        if b" 200 " not in status:
            ended.append(status)
            return
        opened.append(1)
        while await reader.read(4096):
            pass
        closed.append(1)
    except OSError as e:
        ended.append(str(e).encode())

async def main():
    opened, ended = [], []
    tasks = []
    for i, token in enumerate(tokens):
        tasks.append(asyncio.create_task(hold(token, opened, ended)))
        if i % 500 == 499:
            await asyncio.sleep(0.2)
    for _ in range(600):
        if len(opened) + len(ended) >= len(tokens):
            break
        await asyncio.sleep(0.1)
    print(f"streams opened: {len(opened)} of {len(tokens)}; refused or failed: {len(ended)}", flush=True)
    if ended:
        print(f"first failure: {ended[0][:120]!r}", flush=True)
    # Held until wrk is done (the parent kills this process); the counts are kept up to date.
    while True:
        open(out + ".status", "w").write(f"{len(opened)} {len(ended)} {len(closed)}\n")
        await asyncio.sleep(1)

asyncio.run(main())
PY
python3 "$dir/streams.py" "$dir/bench.db" "$STREAMS" "$port" "$dir/cookies" &
holder_pid=$!
trap 'kill $holder_pid $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 600); do [ -s "$dir/cookies.status" ] && break; sleep 0.5; done
sleep 2
read -r opened failed closed <"$dir/cookies.status"
echo "streams opened: $opened; refused or failed: $failed"
echo "server memory with $opened streams open: $(( $(rss) / 1024 )) MiB"
cat >"$dir/pay_code.lua" <<LUA
wrk.method = "POST"
wrk.headers["cookie"] = "ykt_session=$(cat "$dir/cookies")"
wrk.headers["sec-fetch-site"] = "same-origin"
wrk.headers["accept"] = "application/json"
wrk.headers["content-type"] = "application/x-www-form-urlencoded"
LUA
out=$(wrk -t2 -c16 -d"${DURATION}s" --latency -s "$dir/pay_code.lua" "$base/api/pay_code")
echo "$out"
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
[ -z "$non2xx" ] || { echo "refused answers: $non2xx (see $dir/server.log)"; exit 1; }
read -r opened failed closed <"$dir/cookies.status"
echo "after ${DURATION} s of pay codes: $((opened - closed)) of $opened streams still open"
echo "server memory at the end: $(( $(rss) / 1024 )) MiB"
