#!/usr/bin/env bash
# On demand, not part of the test command: runs every unit and integration test with the
# server's clock at awkward moments, to show that no test (and no rule) depends on the date.
#
#   scripts/clock-check.sh               # SQLite
#   BACKENDS="sqlite postgres" scripts/clock-check.sh
#
# Each moment is handed to the tests as YIKATONG_TEST_NOW: the injectable clock of every test
# and every server under test starts there. (Running cargo itself under Debian's faketime hung
# after the first test binary here, so the check relies on the injectable clock alone.) Prints
# one line per moment and backend, then a summary; exits non-zero if any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/postgres.sh
BACKENDS=${BACKENDS:-sqlite}
case " $BACKENDS " in *" postgres "*) setup_postgres >/dev/null || exit 1 ;; esac

one_year=$(date -u -d '+1 year' +%Y-%m-%dT12:00:00+08:00)
two_years=$(date -u -d '+2 years' +%Y-%m-%dT12:00:00+08:00)
# name=RFC 3339 moment (campus time is UTC+8)
MOMENTS=(
  "last-minute-of-month-and-year-23:59=2026-12-31T23:59:10+08:00"
  "first-minute-of-month-00:01=2027-01-01T00:01:00+08:00"
  "month-end-23:59-to-midnight=2026-11-30T23:59:40+08:00"
  "29-february=2028-02-29T12:00:00+08:00"
  "spring-festival=2027-02-06T09:00:00+08:00"
  "one-year-from-now=$one_year"
  "two-years-from-now=$two_years"
)

LOGS=$(mktemp -d)
log "building the test binaries"
cargo test -p app --features ssr --no-run -q 2>"$LOGS/build.log" && cargo test -p server --no-run -q 2>>"$LOGS/build.log" \
  || { cat "$LOGS/build.log"; exit 1; }

results=()
failed=0
for entry in "${MOMENTS[@]}"; do
  name=${entry%%=*}
  moment=${entry#*=}
  for backend in $BACKENDS; do
    log "$name ($moment) on $backend"
    out="$LOGS/$name-$backend.log"
    YIKATONG_TEST_NOW=$moment YIKATONG_TEST_BACKEND=$backend \
      cargo test --no-fail-fast -q -p app --features ssr >"$out" 2>&1
    rc1=$?
    YIKATONG_TEST_NOW=$moment YIKATONG_TEST_BACKEND=$backend \
      cargo test --no-fail-fast -q -p server >>"$out" 2>&1
    rc2=$?
    read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p + 0, f + 0 }' "$out")
    line="$name $moment $backend: $p passed, $f failed"
    if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ] || [ "$f" -ne 0 ] || [ "$p" -eq 0 ]; then
      failed=$((failed + 1)); line="$line  FAILED (log: $out)"
      grep -E '^(test .* FAILED|---- |thread .* panicked)' "$out" | head -20
    fi
    results+=("$line")
    echo "$line"
  done
done
echo "clock check:"
printf '  %s\n' "${results[@]}"
echo "clock check: $(( ${#results[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
