# Sourced by .ci/run: start a throw-away PostgreSQL cluster on 127.0.0.1 and export its URL for the tests.
# Runs the server as the `postgres` user when we are root (postgres refuses to run as root).
# Idempotent: an already running cluster is reused. Variables exported:
#   CADENZA_TEST_POSTGRES_URL  SQLAlchemy URL of an empty database for the tests
#   CZTEST_PG_DATA / CZTEST_PG_BIN / CZTEST_PG_USER  so a fault test can restart the server
_cz_pg_start() {
  local bin data port user run
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bin" ]; then echo "postgres: not installed (run .ci/setup.d/10-postgres.sh)" >&2; return 1; fi
  data=${CADENZA_PG_DIR:-/tmp/cadenza-pg}
  port=${CADENZA_PG_PORT:-55432}
  if [ "$(id -u)" = 0 ]; then user=postgres; run=(runuser -u postgres --); else user=$(id -un); run=(); fi
  if [ ! -s "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
    "${run[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  if ! "${run[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp -c fsync=off" start >/dev/null
  fi
  "${run[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='cadenza_test'" | grep -q 1 \
    || "${run[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres cadenza_test
  export CADENZA_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/cadenza_test"
  export CZTEST_PG_DATA="$data" CZTEST_PG_BIN="$bin" CZTEST_PG_USER="$user"
  echo "postgres: $CADENZA_TEST_POSTGRES_URL"
}
_cz_pg_start
