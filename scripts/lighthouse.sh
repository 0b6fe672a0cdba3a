#!/usr/bin/env bash
# Lighthouse (pinned in scripts/lighthouse/package-lock.json) in Debian Chromium, mobile preset
# (its default: a mid-range phone's screen and CPU, slow 4G, simulated), on the home, login,
# dashboard and 深职通码 pages of the release build that scripts/run.sh serves, with the demo
# campus. Prints each page's performance score, LCP, TBT and CLS: the median of RUNS runs.
# Run on demand (not part of the test command). Usage: scripts/lighthouse.sh [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
source scripts/setup.sh
setup_build_tools
setup_test_tools
build_release >/dev/null
lh=scripts/lighthouse
if [ ! -x "$lh/node_modules/.bin/lighthouse" ] || [ "$lh/package-lock.json" -nt "$lh/node_modules/.package-lock.json" ]; then
  (cd "$lh" && npm ci --no-audit --no-fund >/dev/null)
fi
source scripts/bench-server.sh
start_bench_server 3202 48
# A demo student's session, for the portal pages.
login_demo_student

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $("$lh/node_modules/.bin/lighthouse" --version) in $(/usr/bin/chromium --version)"
printf '%-14s %6s %9s %8s %7s   (median of %d runs)\n' page score LCP TBT CLS "$RUNS"
for page in home:/ login:/login dashboard:/portal code:/portal/code; do
  name=${page%%:*} path=${page#*:}
  headers='{}'
  case "$path" in /portal*) headers="{\"Cookie\": \"$cookie\"}" ;; esac
  for run in $(seq 1 "$RUNS"); do
    CHROME_PATH=/usr/bin/chromium "$lh/node_modules/.bin/lighthouse" "$base$path" \
      --only-categories=performance --output=json --output-path="$dir/$name-$run.json" --quiet \
      --extra-headers="$headers" --chrome-flags="--headless=new --no-sandbox --disable-gpu"
  done
  node - "$name" "$dir"/"$name"-*.json <<'JS'
const fs = require("fs");
const [name, ...files] = process.argv.slice(2);
const runs = files.map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
for (const r of runs) {
  if (r.runtimeError) { console.error(`${name}: ${r.runtimeError.message}`); process.exit(1); }
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
const pick = (f) => median(runs.map(f));
const score = pick((r) => r.categories.performance.score * 100);
const lcp = pick((r) => r.audits["largest-contentful-paint"].numericValue);
const tbt = pick((r) => r.audits["total-blocking-time"].numericValue);
const cls = pick((r) => r.audits["cumulative-layout-shift"].numericValue);
const final = runs[0].finalDisplayedUrl || runs[0].finalUrl;
console.log(`${name.padEnd(14)} ${String(Math.round(score)).padStart(6)} ${(lcp / 1000).toFixed(2).padStart(8)}s ${Math.round(tbt).toString().padStart(6)}ms ${cls.toFixed(3).padStart(7)}   ${final}`);
JS
done
