# Shared helpers of scripts/bootstrap.sh: logging, ports, process bookkeeping. Sourced, not run.

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() {
  printf 'bootstrap: ERROR: %s\n' "$*" >&2
  exit 1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# The preferred port when it is free, otherwise any free port.
pick_port() {
  local preferred="$1"
  if [ "$MODE" = stack ] && ! port_in_use "$preferred"; then echo "$preferred"; else free_port; fi
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds or the deadline passes.
wait_until() {
  local seconds="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not come up within ${seconds}s"
    sleep 0.2
  done
}

# Processes this script started, stopped in reverse order on exit (Ctrl-C included).
STARTED_PIDS=()
STARTED_NAMES=()

# start_daemon NAME LOGFILE COMMAND...: runs COMMAND in its own session, so that Ctrl-C reaches this
# script (which stops everything in order) rather than every process at once.
start_daemon() {
  local name="$1" logfile="$2"
  shift 2
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  STARTED_PIDS+=("$!")
  STARTED_NAMES+=("$name")
}

stop_started() {
  local i pid
  for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
    pid="${STARTED_PIDS[$i]}"
    kill -0 "$pid" 2>/dev/null || continue
    log "stopping ${STARTED_NAMES[$i]} (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  STARTED_PIDS=()
  STARTED_NAMES=()
}
