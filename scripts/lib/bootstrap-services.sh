# Starts the local dependencies that are not given by URL. Sourced by scripts/bootstrap.sh.

redis_answers() {
  local host="$1" port="$2" reply
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || true
  exec 3>&-
  [[ "$reply" == +PONG* ]]
}

start_redis() {
  if [ -n "${REDIS_URL:-}" ]; then
    log "using Redis at the given REDIS_URL"
    return
  fi
  export REDIS_URL=redis://127.0.0.1:6379
  if redis_answers 127.0.0.1 6379; then
    log "using the Redis already running on 127.0.0.1:6379"
    return
  fi
  mkdir -p "$DATA_DIR/redis"
  log "starting Redis on 127.0.0.1:6379 (AOF on, data in $DATA_DIR/redis)"
  # noeviction: BullMQ must never lose keys to memory pressure.
  start_daemon redis "$DATA_DIR/redis/redis.log" redis-server --bind 127.0.0.1 --port 6379 \
    --dir "$DATA_DIR/redis" --appendonly yes --maxmemory-policy noeviction --daemonize no
  wait_until 30 Redis redis_answers 127.0.0.1 6379
}

start_ferretdb() {
  if [ -n "${MONGO_URL:-}" ]; then
    log "using the MongoDB API at the given MONGO_URL"
    return
  fi
  local port dir="$DATA_DIR/ferretdb"
  port=$(pick_port 27017)
  [ "$MODE" = stack ] || rm -rf "$dir"
  mkdir -p "$dir/data"
  log "starting FerretDB on 127.0.0.1:$port (SQLite in $dir)"
  start_daemon ferretdb "$dir/ferretdb.log" "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$dir/data/" \
    --listen-addr="127.0.0.1:$port" --debug-addr=- --telemetry=disable --state-dir="$dir" --log-level=WARN
  wait_until 60 FerretDB port_in_use "$port"
  export MONGO_URL="mongodb://127.0.0.1:$port/ser"
}

clamd_answers() {
  local port="$1" reply
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'zPING\0' >&3
  IFS= read -r -d '' -t 2 reply <&3 || true
  exec 3>&-
  [ "$reply" = PONG ]
}

start_clamd() {
  if [ -n "${SER_CLAMD_HOST:-}" ]; then
    log "using clamd at $SER_CLAMD_HOST:${SER_CLAMD_PORT:-3310}"
    return
  fi
  local port dir="$DATA_DIR/clamav" clamd
  clamd=$(command -v clamd || echo /usr/sbin/clamd)
  port=$(pick_port 3310)
  rm -rf "$dir"
  mkdir -p "$dir/db"
  # No signature download here: clamd loads only the project's own test signatures.
  cp "$ROOT"/deploy/clamav/signatures/*.ndb "$dir/db/"
  cat >"$dir/clamd.conf" <<CONF
Foreground yes
TCPSocket $port
TCPAddr 127.0.0.1
DatabaseDirectory $dir/db
LogFile $dir/clamd.log
StreamMaxLength 30M
MaxFileSize 30M
MaxScanSize 100M
SelfCheck 3600
CONF
  log "starting clamd on 127.0.0.1:$port (project test signatures)"
  start_daemon clamd "$dir/clamd.out" "$clamd" -c "$dir/clamd.conf"
  wait_until 60 clamd clamd_answers "$port"
  export SER_CLAMD_HOST=127.0.0.1 SER_CLAMD_PORT="$port"
}

ensure_tls_certificate() {
  [ -z "${SER_TLS_CERT_FILE:-}" ] || return 0
  local dir="$DATA_DIR/tls"
  if [ ! -s "$dir/cert.pem" ] || [ ! -s "$dir/key.pem" ]; then
    mkdir -p "$dir"
    log "generating a self-signed development certificate in $dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
      -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1' \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null || die "openssl could not create the certificate"
    chmod 600 "$dir/key.pem"
  fi
  export SER_TLS_CERT_FILE="$dir/cert.pem" SER_TLS_KEY_FILE="$dir/key.pem"
}

# ensure_secret VARIABLE FILE COMMAND...: a generated secret, kept in FILE, given as VARIABLE_FILE.
ensure_secret() {
  local variable="$1" file="$2" file_variable="$1_FILE"
  shift 2
  if [ -n "${!variable:-}" ] || [ -n "${!file_variable:-}" ]; then
    return
  fi
  if [ ! -s "$file" ]; then
    mkdir -p "$(dirname "$file")"
    (umask 077 && "$@" >"$file")
  fi
  export "${variable}_FILE=$file"
}

ensure_secrets() {
  ensure_secret SER_MASTER_KEY "$DATA_DIR/secrets/master.key" \
    node -e 'console.log(require("crypto").randomBytes(32).toString("base64"))'
  ensure_secret SER_ADMIN_TOKEN "$DATA_DIR/secrets/admin.token" \
    node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))'
}
