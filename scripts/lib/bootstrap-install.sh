# Installs what the local stack needs and is missing. Sourced by scripts/bootstrap.sh.

APT_UPDATED=no

apt_install() {
  local packages=("$@")
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing Debian packages: ${packages[*]}; install them as root (apt-get install ${packages[*]})"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing: ${packages[*]}; this is not a Debian-like system, install them by hand"
  if [ "$APT_UPDATED" = no ]; then
    log "apt-get update"
    "${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=yes
  fi
  log "installing Debian packages: ${packages[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2 ||
    die "apt-get install ${packages[*]} failed"
}

ensure_debian_packages() {
  local missing=()
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  if [ -z "${SER_CLAMD_HOST:-}" ] && ! command -v clamd >/dev/null 2>&1 && [ ! -x /usr/sbin/clamd ]; then
    missing+=(clamav-daemon)
  fi
  if [ -z "${REDIS_URL:-}" ] && ! port_in_use 6379 && ! command -v redis-server >/dev/null 2>&1; then
    missing+=(redis-server)
  fi
  # The test suite validates docker-compose.yml offline (scripts/validate-deploy.sh).
  if [ "$MODE" = test ] && ! command -v docker-compose >/dev/null 2>&1; then
    missing+=(docker-compose)
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
}

ensure_node_modules() {
  if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund >&2) || die "npm ci failed"
  fi
}

ensure_ferretdb() {
  [ -z "${MONGO_URL:-}" ] || return 0
  FERRETDB_BIN=$("$ROOT/scripts/install-ferretdb.sh") || die "FerretDB could not be installed (see above)"
}
