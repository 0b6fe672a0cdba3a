#!/usr/bin/env bash
# A local PostgreSQL for running Yikatong and its tests on the PostgreSQL backend.
#
#   source scripts/postgres.sh && setup_postgres      # or: scripts/postgres.sh
#
# setup_postgres installs the Debian package if missing, starts the cluster, and makes sure a
# login role the tests can use over TCP exists: `ykt_test` (password `ykt_test`, CREATEDB, not a
# superuser). The cluster's stock pg_hba.conf already allows password (scram-sha-256) logins on
# 127.0.0.1 and ::1, so nothing there is changed and nothing is opened to other hosts. Every step
# checks first: running it again does nothing but print the admin URL.
#
# The test helpers create one throw-away database per test through that URL (and drop it after),
# so the role needs CREATEDB and nothing more. It is a local development credential; a real
# deployment uses its own role and secret (see docs/postgres.md).

PG_TEST_ROLE=${PG_TEST_ROLE:-ykt_test}
PG_TEST_PASSWORD=${PG_TEST_PASSWORD:-ykt_test}
PG_PORT=${PG_PORT:-5432}

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

setup_postgres() {
  command -v pg_lsclusters >/dev/null && [ -n "$(pg_lsclusters -h 2>/dev/null)" ] || apt_install postgresql
  local version cluster status
  read -r version cluster _ status _ < <(pg_lsclusters -h | head -1)
  if [ -z "$version" ]; then
    echo "no PostgreSQL cluster found (pg_lsclusters is empty); create one with pg_createcluster" >&2
    return 1
  fi
  if [ "$status" != "online" ]; then
    log "starting PostgreSQL $version/$cluster"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || return 1
  fi
  local i
  for i in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
    [ "$i" -eq 30 ] && { echo "PostgreSQL did not become ready on 127.0.0.1:$PG_PORT" >&2; return 1; }
    sleep 1
  done
  # The role: created once, its password and CREATEDB (re)set every time so a changed
  # PG_TEST_PASSWORD takes effect. psql variables keep the values quoted correctly.
  as_root runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" \
    -v role="$PG_TEST_ROLE" -v password="$PG_TEST_PASSWORD" <<'SQL' || return 1
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') AS missing \gset
\if :missing
CREATE ROLE :"role" LOGIN;
\endif
ALTER ROLE :"role" WITH LOGIN CREATEDB NOSUPERUSER PASSWORD :'password';
SQL
  PG_ADMIN_URL="postgres://$PG_TEST_ROLE:$PG_TEST_PASSWORD@127.0.0.1:$PG_PORT/postgres"
  export YIKATONG_TEST_PG_ADMIN_URL="$PG_ADMIN_URL"
  log "PostgreSQL $version is running; admin URL for the tests:"
  echo "$PG_ADMIN_URL"
}

# Run directly (not sourced): set up and print the URL.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  setup_postgres
fi
