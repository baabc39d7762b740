#!/usr/bin/env bash
# Starts the services the test suite needs — Redis, PostgreSQL and an S3-compatible object storage —
# when none is given, each on a free loopback port in its own run directory, installing the Debian
# packages first where they are missing. Never assumes a service started by an earlier session.
#
#   source scripts/services.sh && services_up   # exports LOWBAND_TEST_REDIS_URL, LOWBAND_TEST_POSTGRES_URL,
#                                               # LOWBAND_TEST_S3_URL (+ _ACCESS_KEY_ID, _SECRET_ACCESS_KEY)
#                                               # LOWBAND_TEST_CHROMIUM (Debian's chromium, for the web page's test)
#   services_down                               # stops what services_up started
set -uo pipefail

SERVICES_RUN_DIR=""
SERVICES_STARTED=()
# How long apt-get waits for another package manager (another engineer's install, unattended
# upgrades) to release the dpkg/apt locks before giving up, in seconds.
SERVICES_APT_LOCK_WAIT=${SERVICES_APT_LOCK_WAIT:-600}
# Why the last apt_install failed: apt-get's last error line.
SERVICES_APT_ERROR=""

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# One line for a service that could not be started, so a skipped test is never a silent one.
not_started() { echo "services: $1 NOT started: $2; tests that need it will skip" >&2; }

# Installs Debian packages, waiting for the package manager's locks; on failure returns 1 with the
# reason in SERVICES_APT_ERROR.
apt_install() {
  if [ "$(id -u)" != 0 ]; then SERVICES_APT_ERROR="$* missing, and installing needs root"; return 1; fi
  local log; log=$(mktemp)
  if [ -z "${SERVICES_APT_UPDATED:-}" ]; then
    apt-get -o DPkg::Lock::Timeout="$SERVICES_APT_LOCK_WAIT" update -qq >"$log" 2>&1 && SERVICES_APT_UPDATED=1
  fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$SERVICES_APT_LOCK_WAIT" install -y -qq "$@" >>"$log" 2>&1; then
    SERVICES_APT_ERROR="apt-get install $* failed: $(grep -E '^(E|W):' "$log" | tail -n 1)"
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

start_redis() {
  if [ -n "${LOWBAND_TEST_REDIS_URL:-}" ]; then echo "services: using Redis at $LOWBAND_TEST_REDIS_URL" >&2; return 0; fi
  command -v redis-server >/dev/null || apt_install redis-server || { not_started Redis "$SERVICES_APT_ERROR"; return 0; }
  local port; port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$SERVICES_RUN_DIR" --pidfile "$SERVICES_RUN_DIR/redis.pid" --logfile "$SERVICES_RUN_DIR/redis.log" \
    || { not_started Redis "redis-server failed (see $SERVICES_RUN_DIR/redis.log)"; return 0; }
  local up=""
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
  [ -n "$up" ] || { not_started Redis "no answer on port $port within 5 s (see $SERVICES_RUN_DIR/redis.log)"; return 0; }
  export LOWBAND_TEST_REDIS_URL="redis://127.0.0.1:$port"
  SERVICES_STARTED+=(redis)
  echo "services: Redis on $LOWBAND_TEST_REDIS_URL" >&2
}

start_postgres() {
  if [ -n "${LOWBAND_TEST_POSTGRES_URL:-}" ]; then echo "services: using PostgreSQL at $LOWBAND_TEST_POSTGRES_URL" >&2; return 0; fi
  [ -n "$(pg_bin)" ] || apt_install postgresql || { not_started PostgreSQL "$SERVICES_APT_ERROR"; return 0; }
  local bin port dir as=()
  bin=$(pg_bin); port=$(free_port); dir="$SERVICES_RUN_DIR/pg"
  mkdir -p "$dir"
  # PostgreSQL refuses to run as root: run it as its own user.
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$SERVICES_RUN_DIR"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U lowband >"$SERVICES_RUN_DIR/initdb.log" 2>&1 || { not_started PostgreSQL "initdb failed (see $SERVICES_RUN_DIR/initdb.log)"; return 0; }
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null || { not_started PostgreSQL "pg_ctl start failed (see $dir/log)"; return 0; }
  export LOWBAND_TEST_POSTGRES_URL="postgres://lowband@127.0.0.1:$port/postgres"
  SERVICES_STARTED+=(postgres)
  echo "services: PostgreSQL on $LOWBAND_TEST_POSTGRES_URL" >&2
}

# s3rver from the npm registry (a devDependency), made to check signatures and to list parts as S3
# does by scripts/s3-server.mjs; Debian has no S3-compatible server.
start_s3() {
  if [ -n "${LOWBAND_TEST_S3_URL:-}" ]; then echo "services: using S3 at $LOWBAND_TEST_S3_URL" >&2; return 0; fi
  local here out
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  out="$SERVICES_RUN_DIR/s3.out"
  mkdir -p "$SERVICES_RUN_DIR/s3"
  node "$here/s3-server.mjs" --dir "$SERVICES_RUN_DIR/s3" >"$out" 2>"$SERVICES_RUN_DIR/s3.log" &
  echo $! >"$SERVICES_RUN_DIR/s3.pid"
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
  if [ ! -s "$out" ]; then echo "services: the S3 server did not start (see $SERVICES_RUN_DIR/s3.log)" >&2; return 0; fi
  LOWBAND_TEST_S3_URL=$(node -e 'console.log(JSON.parse(process.argv[1]).url)' "$(head -n 1 "$out")")
  export LOWBAND_TEST_S3_URL LOWBAND_TEST_S3_ACCESS_KEY_ID=S3RVER LOWBAND_TEST_S3_SECRET_ACCESS_KEY=S3RVER
  SERVICES_STARTED+=(s3)
  echo "services: S3 (s3rver) on $LOWBAND_TEST_S3_URL" >&2
}

# Debian's chromium for the web page's browser test (playwright-core drives it; it downloads no
# browser of its own). Exports LOWBAND_TEST_CHROMIUM, the executable.
start_chromium() {
  if [ -n "${LOWBAND_TEST_CHROMIUM:-}" ]; then echo "services: using Chromium at $LOWBAND_TEST_CHROMIUM" >&2; return 0; fi
  command -v chromium >/dev/null || apt_install chromium || { not_started Chromium "$SERVICES_APT_ERROR"; return 0; }
  LOWBAND_TEST_CHROMIUM=$(command -v chromium)
  export LOWBAND_TEST_CHROMIUM
  echo "services: Chromium at $LOWBAND_TEST_CHROMIUM" >&2
}

services_up() {
  SERVICES_RUN_DIR=$(mktemp -d /tmp/lowband-services.XXXXXX)
  chmod 755 "$SERVICES_RUN_DIR"
  start_redis
  start_postgres
  start_s3
  start_chromium
}

services_down() {
  local s
  for s in "${SERVICES_STARTED[@]}"; do
    case "$s" in
      redis) [ -f "$SERVICES_RUN_DIR/redis.pid" ] && kill "$(cat "$SERVICES_RUN_DIR/redis.pid")" 2>/dev/null ;;
      s3) [ -f "$SERVICES_RUN_DIR/s3.pid" ] && kill "$(cat "$SERVICES_RUN_DIR/s3.pid")" 2>/dev/null ;;
      postgres) if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$SERVICES_RUN_DIR/pg/data" -m fast stop >/dev/null 2>&1
                else "$(pg_bin)/pg_ctl" -D "$SERVICES_RUN_DIR/pg/data" -m fast stop >/dev/null 2>&1; fi ;;
    esac
  done
  [ -n "$SERVICES_RUN_DIR" ] && rm -rf "$SERVICES_RUN_DIR"
  SERVICES_STARTED=()
}
