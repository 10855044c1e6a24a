# shellcheck shell=bash
# Installs what the bootstrap needs and the machine lacks: Debian packages, npm dependencies and
# FerretDB. Sourced by scripts/bootstrap.sh; expects MODE and ROOT.

APT_UPDATED=no

# apt_install PACKAGE...: as root, or through password-less sudo; otherwise says what to install.
apt_install() {
  local packages=("$@") sudo=()
  local by_hand="install them by hand (apt-get install ${packages[*]}), or give the services by URL (REDIS_URL, MONGO_URL, SER_CLAMD_HOST)"
  command -v apt-get >/dev/null 2>&1 || die "missing: ${packages[*]}, and this is not a Debian-like system: $by_hand"
  if [ "$(id -u)" -ne 0 ]; then
    sudo -n true 2>/dev/null || die "missing Debian packages: ${packages[*]}; not root and no password-less sudo: $by_hand"
    sudo=(sudo -n)
  fi
  if [ "$APT_UPDATED" = no ]; then
    log "apt-get update"
    "${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed; $by_hand"
    APT_UPDATED=yes
  fi
  log "installing Debian packages: ${packages[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2 ||
    die "apt-get install ${packages[*]} failed; $by_hand"
}

has() { command -v "$1" >/dev/null 2>&1; }

# The Debian packages this run needs and lacks; a service given by URL needs nothing here.
missing_debian_packages() {
  has openssl || [ -n "${SER_TLS_CERT_FILE:-}" ] || echo openssl
  if [ -z "${SER_CLAMD_HOST:-}" ] && ! has clamd && [ ! -x /usr/sbin/clamd ]; then echo clamav-daemon; fi
  if [ -z "${SER_SPAMD_HOST:-}" ] && ! has spamd && [ ! -x /usr/sbin/spamd ]; then echo spamd; fi # pulls in spamassassin
  if ! given REDIS_URL && ! has redis-server && ! redis_answers 6379; then echo redis-server; fi
  if [ "$MODE" = test ]; then
    # scripts/validate-deploy.sh (part of test:all) renders docker-compose.yml offline with
    # docker-compose and checks it with PyYAML; no Docker engine is needed.
    has docker-compose || docker compose version >/dev/null 2>&1 || echo docker-compose
    python_has_yaml || echo python3-yaml
    # The DKIM tests verify signatures with dkimpy too, an implementation independent of mailauth.
    /usr/bin/python3 -c 'import dkim' >/dev/null 2>&1 || echo python3-dkim
  fi
}

python_has_yaml() {
  local python
  for python in python3 /usr/bin/python3; do
    has "$python" && "$python" -c 'import yaml' >/dev/null 2>&1 && return 0
  done
  return 1
}

ensure_debian_packages() {
  local missing
  mapfile -t missing < <(missing_debian_packages)
  [ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"
}

# npm ci when node_modules is missing or older than the lockfile (npm writes
# node_modules/.package-lock.json on every install); npm install when there is no lockfile.
ensure_node_modules() {
  local stamp="$ROOT/node_modules/.package-lock.json"
  if [ -f "$ROOT/package-lock.json" ]; then
    [ -f "$stamp" ] && [ ! "$ROOT/package-lock.json" -nt "$stamp" ] && return 0
    log "installing npm dependencies (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund >&2) || die "npm ci failed (see above)"
  else
    [ -f "$stamp" ] && [ ! "$ROOT/package.json" -nt "$stamp" ] && return 0
    log "installing npm dependencies (npm install: there is no package-lock.json)"
    (cd "$ROOT" && npm install --no-audit --no-fund >&2) || die "npm install failed (see above)"
  fi
}

# Sets FERRETDB_BIN, building FerretDB once per machine (scripts/install-ferretdb.sh).
ensure_ferretdb() {
  given MONGO_URL && return 0
  # shellcheck disable=SC2034 # read by bootstrap-services.sh
  FERRETDB_BIN=$(bash "$ROOT/scripts/install-ferretdb.sh") ||
    die "FerretDB could not be installed (see above); or set MONGO_URL to a MongoDB you run yourself"
}
