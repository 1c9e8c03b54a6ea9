#!/usr/bin/env bash
# Debian's PostgreSQL for the API tests' Postgres tier (the server is started by .ci/services.d/postgres.sh).
set -euo pipefail
# Test-only tool: skipped for the main job and the production images (CADENZA_SETUP_TEST_TOOLS=0).
if [ "${CADENZA_SETUP_TEST_TOOLS:-1}" = "0" ]; then
  echo "10-postgres: skipped (CADENZA_SETUP_TEST_TOOLS=0)"
  exit 0
fi
if ! dpkg -s postgresql >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
# Debian's package starts (or registers) its default cluster; we run our own on a private port instead.
echo "postgres: $(ls /usr/lib/postgresql/)"
