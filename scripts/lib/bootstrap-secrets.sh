# shellcheck shell=bash
# Development TLS certificate and secrets, generated once into the data folder (git-ignored) and
# handed to the relay as *_FILE variables, so no secret ever appears in the environment, a log or
# a process listing. Each is skipped when the user gives one. Sourced by scripts/bootstrap.sh.

ensure_tls_certificate() {
  if [ -n "${SER_TLS_CERT_FILE:-}" ]; then
    log "using the TLS certificate given by SER_TLS_CERT_FILE"
    return
  fi
  local dir="$DATA_DIR/tls"
  if [ ! -s "$dir/cert.pem" ] || [ ! -s "$dir/key.pem" ]; then
    mkdir -p "$dir"
    log "generating a self-signed certificate for localhost in $dir"
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -days 825 -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1' \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.err") ||
      die "openssl could not create the certificate: $(cat "$dir/openssl.err")"
    rm -f "$dir/openssl.err"
    chmod 644 "$dir/cert.pem"
  fi
  export SER_TLS_CERT_FILE="$dir/cert.pem" SER_TLS_KEY_FILE="$dir/key.pem"
}

# ensure_secret VARIABLE FILE BYTES ENCODING: unless VARIABLE or VARIABLE_FILE is set, keeps a
# random secret of BYTES bytes in FILE (mode 600, made once) and exports VARIABLE_FILE.
ensure_secret() {
  local variable="$1" file="$2" bytes="$3" encoding="$4"
  if given "$variable"; then
    log "using the $variable given in the environment"
    return
  fi
  if [ ! -s "$file" ]; then
    mkdir -p "$(dirname "$file")"
    (umask 077 && node -e "console.log(require('crypto').randomBytes($bytes).toString('$encoding'))" >"$file") ||
      die "could not write $file"
  fi
  chmod 600 "$file"
  export "${variable}_FILE=$file"
}

ensure_secrets() {
  ensure_secret SER_MASTER_KEY "$DATA_DIR/secrets/master.key" 32 base64
  ensure_secret SER_ADMIN_TOKEN "$DATA_DIR/secrets/admin.token" 32 base64url
}

# Where the admin token comes from, for the banner: never the token itself.
admin_token_source() {
  if [ -n "${SER_ADMIN_TOKEN_FILE:-}" ]; then
    echo "$SER_ADMIN_TOKEN_FILE"
  elif [ -n "${SER_ADMIN_TOKEN:-}" ]; then
    echo "the SER_ADMIN_TOKEN variable"
  else
    echo "none"
  fi
}
