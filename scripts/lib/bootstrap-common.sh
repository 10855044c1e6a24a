# shellcheck shell=bash
# Helpers of scripts/bootstrap.sh: logging, ports, waiting, and supervision of the processes the
# bootstrap starts. Sourced, not run; expects MODE, ROOT and RUN_DIR to be set.

log() { printf 'bootstrap: %s\n' "$*" >&2; }

die() {
  printf 'bootstrap: ERROR: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------- ports

# True when something accepts TCP connections on 127.0.0.1:PORT. (A subshell: a failed `exec`
# redirection must not take the script down.)
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port the kernel considers free right now. (Small race until the service binds it; a service
# that loses it fails its start, loudly.)
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# pick_port PREFERRED: for `stack` the well-known port when it is free, so the stack is where a
# developer expects it; for `test` always a free one, so a test run never clashes with a stack.
pick_port() {
  if [ "$MODE" = stack ] && ! port_in_use "$1"; then
    echo "$1"
  else
    free_port
  fi
}

# ------------------------------------------------------------------------------------ processes

# proc_field PID N: field N (1-based, counted after the command name) of /proc/PID/stat:
# 1 = state, 3 = process group, 20 = start time. The name may hold spaces, so cut after ") ".
proc_field() {
  local stat fields
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  read -r -a fields <<<"${stat##*) }"
  echo "${fields[$(($2 - 1))]}"
}

# True while a process of group PGID is alive (zombies waiting to be reaped do not count).
group_alive() {
  local pgid="$1" file stat rest
  for file in /proc/[0-9]*/stat; do
    read -r stat 2>/dev/null <"$file" || continue
    rest=${stat##*) }                         # "state ppid pgrp ..."
    [ "${rest%% *}" != Z ] || continue        # a zombie waiting to be reaped
    rest=${rest#* } && rest=${rest#* }        # "pgrp ..."
    [ "${rest%% *}" = "$pgid" ] && return 0
  done
  return 1
}

# stop_group PGID NAME [SIGNAL] [GRACE_SECONDS]: signals the whole process group (a service and
# any children), waits up to GRACE for it to go, then kills what is left, and reaps the leader.
stop_group() {
  local pgid="$1" name="$2" signal="${3:-TERM}" grace="${4:-10}" deadline
  if group_alive "$pgid"; then
    log "stopping $name (pid $pgid)"
    kill -s "$signal" -- "-$pgid" 2>/dev/null || true
    deadline=$((SECONDS + grace))
    while group_alive "$pgid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if group_alive "$pgid"; then
      log "$name did not stop within ${grace}s; killing it"
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
  fi
  wait "$pgid" 2>/dev/null || true
  rm -f "$RUN_DIR/$name.pid"
}

# Remembers a started process in RUN_DIR as "pid start-time", so that a later run can stop what
# a run killed with SIGKILL left behind (and only that: the start time tells a reused pid apart).
record_pid() {
  local name="$1" pid="$2"
  mkdir -p "$RUN_DIR"
  echo "$pid $(proc_field "$pid" 20)" >"$RUN_DIR/$name.pid"
}

# Stops the processes an earlier run recorded and did not stop. Safe because the caller holds the
# data folder's lock: no live bootstrap owns them.
stop_leftovers() {
  local file name pid start
  # The relay or the tests first: they need the services to shut down cleanly.
  for file in "$RUN_DIR/relay.pid" "$RUN_DIR/tests.pid" "$RUN_DIR"/*.pid; do
    [ -f "$file" ] || continue
    name=$(basename "$file" .pid)
    read -r pid start <"$file" || true
    if [ -n "${pid:-}" ] && [ "$(proc_field "$pid" 20 2>/dev/null)" = "${start:-}" ]; then
      log "$name (pid $pid) was left running by an earlier run"
      stop_group "$pid" "$name"
    fi
    rm -f "$file"
  done
}

# Services this run started, stopped in reverse order on exit.
STARTED_PIDS=()
STARTED_NAMES=()

# start_daemon NAME LOGFILE COMMAND...: runs COMMAND as the leader of a new session (setsid), so
# that a Ctrl-C reaches only this script, which then stops everything in order, and so that the
# service and all its children can be stopped as one process group. fd 9 (the data folder lock)
# is not passed on: a leftover service must not keep the folder locked.
start_daemon() {
  local name="$1" logfile="$2"
  shift 2
  setsid "$@" >"$logfile" 2>&1 </dev/null 9>&- &
  STARTED_PIDS+=("$!")
  STARTED_NAMES+=("$name")
  record_pid "$name" "$!"
}

stop_started() {
  local i
  for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
    stop_group "${STARTED_PIDS[$i]}" "${STARTED_NAMES[$i]}"
  done
  STARTED_PIDS=()
  STARTED_NAMES=()
}

# wait_ready NAME PID LOGFILE SECONDS COMMAND...: polls COMMAND until it succeeds; fails loudly,
# with the end of the service's log, when the service exits or the deadline passes.
wait_ready() {
  local name="$1" pid="$2" logfile="$3" seconds="$4" deadline
  shift 4
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! group_alive "$pid"; then
      tail -n 20 "$logfile" >&2 || true
      die "$name exited during start-up (log above: $logfile)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 20 "$logfile" >&2 || true
      die "$name did not become ready within ${seconds}s (log above: $logfile)"
    fi
    sleep 0.2
  done
}
