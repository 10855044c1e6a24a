#!/usr/bin/env bash
# Builds FerretDB (the MongoDB-wire-compatible server that development and the tests run on, over
# SQLite) into a machine-wide tools folder shared by every clone, and prints the binary's path on
# stdout. Progress and errors go to stderr. Idempotent: a binary that reports the right version is
# kept.
#
#   scripts/install-ferretdb.sh            # -> $SER_TOOLS_DIR/bin/ferretdb-v1.24.2 (+ bin/ferretdb)
#
# Why not `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: that binary panics at
# start ("Invalid build/version/version.txt file content") because FerretDB's own build generates
# build/version/version.txt. So we copy the module source out of the Go module cache, write
# version.txt, and build it ourselves.
#
# Environment: SER_TOOLS_DIR (default ~/.cache/secure-email-relay), SER_FERRETDB_VERSION (default
# v1.24.2). Needs Go >= 1.24 (FerretDB's go.mod), or Go >= 1.21 that can fetch that toolchain
# through the module proxy.
set -euo pipefail

VERSION="${SER_FERRETDB_VERSION:-v1.24.2}"
FALLBACK_VERSION=v1.24.1
MODULE=github.com/FerretDB/FerretDB
BIN_DIR="${SER_TOOLS_DIR:-$HOME/.cache/secure-email-relay}/bin"

log() { printf 'install-ferretdb: %s\n' "$*" >&2; }
die() {
  printf 'install-ferretdb: ERROR: %s\n' "$*" >&2
  exit 1
}

# reports_version BINARY VERSION. (Output captured, not piped to grep -q: with pipefail an early
# grep exit would fail the pipe on SIGPIPE.)
reports_version() {
  local out
  out=$("$1" --version 2>&1) || return 1
  [[ "$out" == *"version: $2"* ]]
}

# The binary already built for VERSION, if any: print it and stop.
print_if_installed() {
  if [ -x "$BIN_DIR/ferretdb-$VERSION" ] && reports_version "$BIN_DIR/ferretdb-$VERSION" "$VERSION"; then
    ln -sfn "ferretdb-$VERSION" "$BIN_DIR/ferretdb"
    echo "$BIN_DIR/ferretdb-$VERSION"
    exit 0
  fi
}

require_go() {
  command -v go >/dev/null 2>&1 ||
    die "Go is required to build FerretDB $VERSION and is not on PATH. Install Go >= 1.24 from https://go.dev/dl (Debian's golang-go is too old), or set MONGO_URL to a MongoDB you run yourself."
}

# module_source VERSION WORKDIR: downloads the module into the module cache, prints its folder.
module_source() {
  local version="$1" work="$2" json dir
  # Outside any module (a fresh temporary folder), so no go.mod or go.work around us interferes.
  json=$(cd "$work" && GO111MODULE=on GOWORK=off GOFLAGS=-mod=mod go mod download -json "$MODULE@$version" 2>&1) || {
    printf '%s\n' "$json" >&2
    return 1
  }
  dir=$(printf '%s' "$json" | node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const j = JSON.parse(s);
      if (j.Error) { console.error(j.Error); process.exit(1); }
      console.log(j.Dir);
    });') || return 1
  # Never go on with an empty or odd path: the next step copies "$dir/.".
  if [ -z "$dir" ] || [ ! -d "$dir/cmd/ferretdb" ]; then
    log "go mod download gave no usable source folder for $MODULE@$version: '$dir'"
    return 1
  fi
  printf '%s\n' "$dir"
}

# build VERSION CGO OUTPUT: builds into OUTPUT; CGO is "default" or 0/1 for CGO_ENABLED.
# (Called in an || list, where set -e is off: every step is chained explicitly.)
build() {
  local version="$1" cgo="$2" output="$3" work dir status=0
  work=$(mktemp -d)
  dir=$(module_source "$version" "$work") &&
    cp -R "$dir/." "$work/src" &&
    chmod -R u+w "$work/src" && # the module cache is read-only
    printf '%s\n' "$version" >"$work/src/build/version/version.txt" &&
    (
      cd "$work/src" || exit 1
      [ "$cgo" = default ] || export CGO_ENABLED="$cgo"
      GOWORK=off GOFLAGS=-buildvcs=false go build -trimpath -o "$output" ./cmd/ferretdb
    ) || status=1
  rm -rf "$work"
  [ "$status" -eq 0 ] || return 1
  reports_version "$output" "$version" || {
    log "the built binary does not report version $version: $("$output" --version 2>&1 | head -3)"
    return 1
  }
}

# try VERSION CGO: one build attempt, installed atomically (another clone may be running the old
# binary) and linked as bin/ferretdb; prints the path and exits on success.
try() {
  local version="$1" cgo="$2" tmp="$BIN_DIR/.ferretdb-$1.$$" started=$SECONDS
  log "building FerretDB $version (CGO_ENABLED=$cgo); minutes on a cold module cache, ~15 s warm"
  if build "$version" "$cgo" "$tmp" 2>"$BIN_DIR/.build-$version.log"; then
    mv -f "$tmp" "$BIN_DIR/ferretdb-$version"
    ln -sfn "ferretdb-$version" "$BIN_DIR/ferretdb"
    rm -f "$BIN_DIR/.build-$version.log"
    log "built $BIN_DIR/ferretdb-$version in $((SECONDS - started))s"
    [ "$version" = "$VERSION" ] || log "WARNING: using FerretDB $version, as $VERSION could not be built"
    echo "$BIN_DIR/ferretdb-$version"
    exit 0
  fi
  rm -f "$tmp"
  log "building FerretDB $version (CGO_ENABLED=$cgo) failed:"
  sed 's/^/    /' "$BIN_DIR/.build-$version.log" >&2
  return 1
}

mkdir -p "$BIN_DIR"
print_if_installed
require_go
# One build at a time per tools folder (two clones bootstrapping at once); the second one waits,
# then finds the binary built.
exec 9>"$BIN_DIR/.ferretdb.lock"
flock -n 9 || {
  log "another FerretDB build is running; waiting for it"
  flock 9
}
print_if_installed

# The fallbacks in order: the same version without cgo (FerretDB's SQLite is pure Go, so a
# missing C compiler is the likeliest failure), then the previous patch release, then its pure-Go build.
try "$VERSION" default || try "$VERSION" 0 || try "$FALLBACK_VERSION" default || try "$FALLBACK_VERSION" 0 ||
  die "could not build FerretDB $VERSION nor $FALLBACK_VERSION (errors above). Set MONGO_URL to a MongoDB you run yourself to skip FerretDB."
