#!/usr/bin/env bash
# The one bootstrap behind `npm run stack` and `npm test`: install what is missing, start what is
# not already running (each only when its URL is not given), then run the relay or the tests, and
# stop everything it started when done or interrupted.
#
#   bash scripts/bootstrap.sh stack   # the relay on embedded defaults, until Ctrl-C
#   bash scripts/bootstrap.sh test    # $SER_BOOTSTRAP_TEST_CMD (default: npm run test:all)
set -euo pipefail

MODE="${1:-}"
case "$MODE" in
  stack | test) ;;
  *)
    echo "usage: bash scripts/bootstrap.sh stack|test" >&2
    exit 2
    ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/bootstrap-common.sh
source "$ROOT/scripts/lib/bootstrap-common.sh"
# shellcheck source=lib/bootstrap-install.sh
source "$ROOT/scripts/lib/bootstrap-install.sh"
# shellcheck source=lib/bootstrap-services.sh
source "$ROOT/scripts/lib/bootstrap-services.sh"

if [ "$MODE" = stack ]; then
  export SER_DATA_DIR="${SER_DATA_DIR:-$ROOT/.data}"
else
  # Tests get a data folder of their own, so they never touch a running stack's data.
  export SER_DATA_DIR="${SER_DATA_DIR:-$ROOT/.data/test-run}"
fi
DATA_DIR="$SER_DATA_DIR"
mkdir -p "$DATA_DIR"

RELAY_PID=""
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$RELAY_PID" ] && kill -0 "$RELAY_PID" 2>/dev/null; then
    log "stopping the relay (pid $RELAY_PID)"
    kill -TERM "$RELAY_PID" 2>/dev/null || true
    wait "$RELAY_PID" 2>/dev/null || true
  fi
  stop_started
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_debian_packages
ensure_node_modules
ensure_ferretdb
start_redis
start_ferretdb
start_clamd
ensure_tls_certificate
ensure_secrets

if [ "$MODE" = test ]; then
  log "running: ${SER_BOOTSTRAP_TEST_CMD:-npm run test:all}"
  set +e
  (cd "$ROOT" && bash -c "${SER_BOOTSTRAP_TEST_CMD:-npm run test:all}")
  rc=$?
  set -e
  exit "$rc"
fi

log "building the relay"
(cd "$ROOT" && npm run --silent build >&2) || die "the build failed"
cat >&2 <<INFO

  Secure Email Relay is starting:
    SMTP submission (STARTTLS):  127.0.0.1:${SER_INGRESS_SUBMISSION_PORT:-587}
    SMTP submissions (TLS):      127.0.0.1:${SER_INGRESS_SUBMISSIONS_PORT:-465}
    Admin API:                   http://127.0.0.1:${SER_ADMIN_PORT:-8080}  (/healthz, /readyz, /v1/...)
    Bootstrap admin token:       ${SER_ADMIN_TOKEN_FILE:-the SER_ADMIN_TOKEN variable}
    Data:                        $DATA_DIR
  Ctrl-C stops the relay and everything this script started.

INFO
node "$ROOT/dist/services/relay/src/main.js" &
RELAY_PID=$!
set +e
wait "$RELAY_PID"
rc=$?
set -e
RELAY_PID=""
exit "$rc"
