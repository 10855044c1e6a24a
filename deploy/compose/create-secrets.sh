#!/usr/bin/env bash
# Creates the secret files docker-compose.yml mounts, if they do not exist yet:
#   master_key (32 random bytes, base64), admin_token, tls_cert.pem + tls_key.pem (self-signed).
# Usage: deploy/compose/create-secrets.sh [dir]
#   dir: relative to the repository root; default $SER_SECRETS_DIR or .data/compose-secrets
# Replace tls_*.pem with the relay's real certificate for anything but local testing.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-${SER_SECRETS_DIR:-.data/compose-secrets}}"
command -v openssl >/dev/null || { echo "create-secrets: openssl is required (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
umask 022 # plain compose bind-mounts the files as they are; the containers run as uid 1000 (node)
[ -s "$dir/master_key" ] || openssl rand -base64 32 >"$dir/master_key"
[ -s "$dir/admin_token" ] || openssl rand -base64 32 >"$dir/admin_token"
if [ ! -s "$dir/tls_cert.pem" ] || [ ! -s "$dir/tls_key.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=${SER_HOSTNAME:-localhost}" \
    -keyout "$dir/tls_key.pem" -out "$dir/tls_cert.pem" 2>/dev/null
fi
chmod 644 "$dir/master_key" "$dir/admin_token" "$dir/tls_cert.pem" "$dir/tls_key.pem"
echo "secrets in $dir: master_key admin_token tls_cert.pem tls_key.pem"
