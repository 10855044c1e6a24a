# shellcheck shell=bash
# Starts the local dependencies that the user did not give: Redis, the MongoDB API (FerretDB) and
# clamd. Each one is skipped when its URL/host is set. Sourced by scripts/bootstrap.sh; expects
# MODE, ROOT, DATA_DIR and, for FerretDB, FERRETDB_BIN.

# One line per dependency for the stack's banner. Never a given URL: it may hold a password.
SUMMARY=()

# True when the variable or its *_FILE twin (read by the relay's config loader) is set.
given() {
  local file_variable="$1_FILE"
  [ -n "${!1:-}" ] || [ -n "${!file_variable:-}" ]
}

# ---------------------------------------------------------------------------------------- Redis

redis_answers() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3
    [[ "$reply" == +PONG* ]]
  ) 2>/dev/null
}

start_redis() {
  if given REDIS_URL; then
    log "using the Redis given by REDIS_URL"
    SUMMARY+=("Redis:        given by REDIS_URL")
    return
  fi
  # The machine's own Redis is fine to share: tests and stacks isolate themselves by key prefix.
  if redis_answers 6379; then
    log "using the Redis already running on 127.0.0.1:6379"
    export REDIS_URL=redis://127.0.0.1:6379
    SUMMARY+=("Redis:        $REDIS_URL (already running)")
    return
  fi
  local port dir="$DATA_DIR/redis"
  port=$(pick_port 6379)
  [ "$MODE" = stack ] || rm -rf "$dir"
  mkdir -p "$dir"
  log "starting Redis on 127.0.0.1:$port (append-only file in $dir)"
  # appendonly: queued mail must survive a restart; noeviction: BullMQ must never lose keys.
  start_daemon redis "$dir/redis.log" redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
    --appendonly yes --save '' --maxmemory-policy noeviction --daemonize no
  wait_ready Redis "${STARTED_PIDS[-1]}" "$dir/redis.log" 30 redis_answers "$port"
  export REDIS_URL="redis://127.0.0.1:$port"
  SUMMARY+=("Redis:        $REDIS_URL (data in $dir)")
}

# ------------------------------------------------------------------------------------- FerretDB

start_ferretdb() {
  if given MONGO_URL; then
    log "using the MongoDB API given by MONGO_URL"
    SUMMARY+=("MongoDB API:  given by MONGO_URL")
    return
  fi
  local port dir="$DATA_DIR/ferretdb"
  port=$(pick_port 27017)
  [ "$MODE" = stack ] || rm -rf "$dir" # tests start from an empty database every run
  mkdir -p "$dir/data"
  log "starting FerretDB on 127.0.0.1:$port (SQLite in $dir/data)"
  # --debug-addr=- turns off the debug HTTP listener (it would take port 8088 in every run).
  start_daemon ferretdb "$dir/ferretdb.log" "$FERRETDB_BIN" --handler=sqlite \
    --sqlite-url="file:$dir/data/" --listen-addr="127.0.0.1:$port" --debug-addr=- \
    --telemetry=disable --state-dir="$dir" --log-level=WARN
  wait_ready FerretDB "${STARTED_PIDS[-1]}" "$dir/ferretdb.log" 60 port_in_use "$port"
  export MONGO_URL="mongodb://127.0.0.1:$port/ser"
  SUMMARY+=("MongoDB API:  $MONGO_URL (FerretDB, data in $dir/data)")
}

# ---------------------------------------------------------------------------------------- clamd

clamd_answers() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf 'zPING\0' >&3
    IFS= read -r -t 2 -d '' reply <&3
    [ "$reply" = PONG ]
  ) 2>/dev/null
}

clamd_binary() {
  command -v clamd 2>/dev/null || { [ -x /usr/sbin/clamd ] && echo /usr/sbin/clamd; } ||
    die "clamd not found (Debian package clamav-daemon), and SER_CLAMD_HOST is not set"
}

# write_clamd_conf PORT DIR: the project's template with the port and folder filled in, and a
# fresh copy of the project's signatures (no freshclam download here).
write_clamd_conf() {
  local port="$1" dir="$2"
  rm -rf "$dir"
  mkdir -p "$dir/db" "$dir/tmp"
  cp "$ROOT"/deploy/clamav/signatures/*.ndb "$dir/db/"
  sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" "$ROOT/deploy/clamav/clamd.dev.conf.template" >"$dir/clamd.conf"
}

start_clamd() {
  if [ -n "${SER_CLAMD_HOST:-}" ]; then
    log "using the clamd given by SER_CLAMD_HOST ($SER_CLAMD_HOST:${SER_CLAMD_PORT:-3310})"
    SUMMARY+=("clamd:        $SER_CLAMD_HOST:${SER_CLAMD_PORT:-3310} (given)")
    return
  fi
  local port clamd dir="$DATA_DIR/clamav"
  clamd=$(clamd_binary)
  port=${SER_CLAMD_PORT:-$(pick_port 3310)} # a port given without a host is where ours listens
  write_clamd_conf "$port" "$dir"
  log "starting clamd on 127.0.0.1:$port (the project's test signatures)"
  start_daemon clamd "$dir/clamd.out" "$clamd" -c "$dir/clamd.conf"
  wait_ready clamd "${STARTED_PIDS[-1]}" "$dir/clamd.out" 60 clamd_answers "$port"
  export SER_CLAMD_HOST=127.0.0.1 SER_CLAMD_PORT="$port"
  SUMMARY+=("clamd:        127.0.0.1:$port (test signatures only)")
}

# ---------------------------------------------------------------------------------------- spamd

spamd_answers() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf 'PING SPAMC/1.5\r\n\r\n' >&3
    IFS= read -r -t 2 reply <&3
    [[ "$reply" == *PONG* ]]
  ) 2>/dev/null
}

spamd_binary() {
  command -v spamd 2>/dev/null || { [ -x /usr/sbin/spamd ] && echo /usr/sbin/spamd; } ||
    die "spamd not found (Debian package spamd), and SER_SPAMD_HOST is not set"
}

# SpamAssassin's spamd with the rules Debian ships; --local: no network tests (no DNS
# blocklists, no Razor), as nothing outside is reachable here.
start_spamd() {
  if [ -n "${SER_SPAMD_HOST:-}" ]; then
    log "using the spamd given by SER_SPAMD_HOST ($SER_SPAMD_HOST:${SER_SPAMD_PORT:-783})"
    SUMMARY+=("spamd:        $SER_SPAMD_HOST:${SER_SPAMD_PORT:-783} (given)")
    return
  fi
  local port spamd dir="$DATA_DIR/spamd"
  spamd=$(spamd_binary)
  port=${SER_SPAMD_PORT:-$(pick_port 7830)}
  mkdir -p "$dir"
  log "starting spamd on 127.0.0.1:$port (local tests only)"
  start_daemon spamd "$dir/spamd.out" "$spamd" --listen="127.0.0.1:$port" --allowed-ips=127.0.0.1 \
    --local --nouser-config --max-children=4 --syslog=stderr
  wait_ready spamd "${STARTED_PIDS[-1]}" "$dir/spamd.out" 90 spamd_answers "$port"
  export SER_SPAMD_HOST=127.0.0.1 SER_SPAMD_PORT="$port"
  SUMMARY+=("spamd:        127.0.0.1:$port (SpamAssassin, local tests only)")
}
