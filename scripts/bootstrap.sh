#!/usr/bin/env bash
# The one bootstrap behind `npm run stack` and `npm test`, on a fresh machine as on a developer's:
#   1. install what is missing (Debian packages, npm dependencies, FerretDB);
#   2. start what is not given (Redis, FerretDB as the MongoDB API, clamd, spamd), make a development
#      TLS certificate, master key and admin token, and export where they are;
#   3. stack: build and run the relay in the foreground until Ctrl-C;
#      test:  run $SER_BOOTSTRAP_TEST_CMD (default `npm run test:all`) and exit with its status;
#      bench: run the benchmarks (bench/run.sh, the arguments after `bench`); clamd and spamd, and
#             a build of the services, only when the pipeline benchmark is among them;
#   4. on exit, error or signal, stop everything it started, and nothing else.
#
#   bash scripts/bootstrap.sh stack|test|bench [benchmark arguments]
#
# Given from outside, a service is used as it is and not started: REDIS_URL, MONGO_URL (or their
# *_FILE), SER_CLAMD_HOST (+ SER_CLAMD_PORT), SER_TLS_CERT_FILE (+ SER_TLS_KEY_FILE),
# SER_MASTER_KEY(_FILE), SER_ADMIN_TOKEN(_FILE). SER_DATA_DIR defaults to .data for stack and
# .data/test-run for test (.data/bench-run for bench); SER_TOOLS_DIR (default
# ~/.cache/secure-email-relay) holds FerretDB.
set -euo pipefail

MODE="${1:-}"
BENCH_ARGS=("${@:2}")
case "$MODE" in
  stack | test | bench) ;;
  *)
    echo "usage: bash scripts/bootstrap.sh stack|test|bench [benchmark arguments]" >&2
    exit 2
    ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RELAY_MAIN="$ROOT/dist/services/relay/src/main.js"
# shellcheck source=lib/bootstrap-common.sh
source "$ROOT/scripts/lib/bootstrap-common.sh"
# shellcheck source=lib/bootstrap-install.sh
source "$ROOT/scripts/lib/bootstrap-install.sh"
# shellcheck source=lib/bootstrap-services.sh
source "$ROOT/scripts/lib/bootstrap-services.sh"
# shellcheck source=lib/bootstrap-secrets.sh
source "$ROOT/scripts/lib/bootstrap-secrets.sh"

# A data folder of its own for the tests, so a test run never touches a running stack's data.
if [ "$MODE" = stack ]; then
  SER_DATA_DIR="${SER_DATA_DIR:-$ROOT/.data}"
else
  SER_DATA_DIR="${SER_DATA_DIR:-$ROOT/.data/$MODE-run}"
fi
mkdir -p "$SER_DATA_DIR"
SER_DATA_DIR=$(cd "$SER_DATA_DIR" && pwd) # absolute: the relay and the tests run elsewhere
export SER_DATA_DIR
DATA_DIR="$SER_DATA_DIR"
RUN_DIR="$DATA_DIR/run" # pid files of what this run started

# One bootstrap per data folder: a second one would start services on the same files. The lock
# (fd 9) goes away with this process, even on SIGKILL; the services are started without it.
lock_data_dir() {
  exec 9>"$DATA_DIR/.bootstrap.lock"
  flock -n 9 || die "another 'bootstrap.sh' is using $DATA_DIR (pid $(cat "$DATA_DIR/.bootstrap.pid" 2>/dev/null || echo '?')); stop it, or set SER_DATA_DIR to another folder"
  echo $$ >"$DATA_DIR/.bootstrap.pid"
}

# ------------------------------------------------------------------------ foreground and exit

FOREGROUND_PID=""
FOREGROUND_NAME=""

# run_foreground NAME COMMAND...: runs COMMAND (the relay, or the tests) in a session of its own
# and waits for it. In the background + wait, rather than plainly, so that a signal to this script
# is handled at once (bash defers traps until a foreground child ends). Through a subshell, so
# that COMMAND keeps the default SIGINT handling (a plain `cmd &` would start it with SIGINT
# ignored, which tests that signal child processes would trip over).
run_foreground() {
  local name="$1" rc=0
  shift
  (cd "$ROOT" && exec setsid "$@" 9>&-) &
  FOREGROUND_PID=$!
  FOREGROUND_NAME=$name
  record_pid "$name" "$FOREGROUND_PID"
  wait "$FOREGROUND_PID" || rc=$?
  # Whatever it left behind in its group (a hung worker, a spawned server) goes too.
  stop_group "$FOREGROUND_PID" "$name" TERM 5
  FOREGROUND_PID=""
  return "$rc"
}

on_signal() {
  log "received SIG$1; stopping"
  case "$1" in
    INT) exit 130 ;;
    HUP) exit 129 ;;
    *) exit 143 ;;
  esac
}

on_exit() {
  local rc=$?
  # A second Ctrl-C (npm forwards one too) must not cut the clean-up short; it is bounded anyway.
  trap '' INT TERM HUP
  trap - EXIT
  if [ -n "$FOREGROUND_PID" ]; then
    # SIGTERM: the relay shuts down cleanly on it; jest and npm stop on it too.
    stop_group "$FOREGROUND_PID" "$FOREGROUND_NAME" TERM 30
  fi
  stop_started
  exit "$rc"
}

# --------------------------------------------------------------------------------------- modes

print_banner() {
  {
    echo
    echo "  Secure Email Relay (all services in one process)"
    echo "    SMTP submission (STARTTLS):   127.0.0.1:${SER_INGRESS_SUBMISSION_PORT:-587}"
    echo "    SMTP submissions (TLS):       127.0.0.1:${SER_INGRESS_SUBMISSIONS_PORT:-465}"
    echo "    Admin API:                    http://127.0.0.1:${SER_ADMIN_PORT:-8080}"
    echo "    bootstrap admin token source: $(admin_token_source)"
    printf '    %s\n' "${SUMMARY[@]}"
    echo "    Data:         $DATA_DIR"
    echo "  Ctrl-C stops the relay and everything this script started."
    echo
  } >&2
}

run_stack() {
  log "building (npm run build)"
  (cd "$ROOT" && npm run build >&2) || die "npm run build failed (see above)"
  [ -f "$RELAY_MAIN" ] ||
    die "npm run build did not produce ${RELAY_MAIN#"$ROOT"/}: the relay's entry point (services/relay/src/main.ts) is missing or compiles elsewhere"
  print_banner
  run_foreground relay node "$RELAY_MAIN"
}

run_tests() {
  local command="${SER_BOOTSTRAP_TEST_CMD:-npm run test:all}"
  log "running: $command"
  run_foreground tests bash -c "$command"
}

# True when the benchmarks to run include the pipeline benchmark (bench/pipeline.bench.ts): named,
# or no benchmark named (all of them). It runs the built services as processes, with clamd and spamd.
bench_needs_pipeline() {
  local arg named=no
  for arg in "${BENCH_ARGS[@]}"; do
    case "$arg" in
      pipeline) return 0 ;;
      --*) ;;
      *) named=yes ;;
    esac
  done
  [ "$named" = no ]
}

run_bench() {
  if bench_needs_pipeline; then
    log "building the services for the pipeline benchmark (npm run build)"
    (cd "$ROOT" && npm run build >&2) || die "npm run build failed (see above)"
  fi
  run_foreground bench bash "$ROOT/bench/run.sh" "${BENCH_ARGS[@]}"
}

main() {
  lock_data_dir
  trap on_exit EXIT
  trap 'on_signal INT' INT
  trap 'on_signal TERM' TERM
  trap 'on_signal HUP' HUP
  stop_leftovers

  ensure_debian_packages
  ensure_node_modules
  ensure_ferretdb

  start_redis
  start_ferretdb
  if [ "$MODE" != bench ] || bench_needs_pipeline; then
    start_clamd
    start_spamd
  fi
  ensure_tls_certificate
  ensure_secrets

  case "$MODE" in
    stack) run_stack ;;
    bench) run_bench ;;
    *) run_tests ;;
  esac
}

main
