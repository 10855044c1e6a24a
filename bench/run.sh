#!/usr/bin/env bash
# Compiles the benchmarks (with the libs and services they import) into dist/ and runs them:
#   bash bench/run.sh [name...] [--runs=N] [--warmup=N] [--messages=N] [--keep=true]
# Needs REDIS_URL and MONGO_URL; `npm run bench` (scripts/bootstrap.sh bench) starts and sets them.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
: "${MONGO_URL:?MONGO_URL is not set: run through npm run bench, or export the bootstrap environment}"
: "${REDIS_URL:?REDIS_URL is not set: run through npm run bench, or export the bootstrap environment}"
echo "bench: compiling (tsc -p bench/tsconfig.json)" >&2
npx tsc -p bench/tsconfig.json
npx tsc-alias -p bench/tsconfig.json
exec node dist/bench/run.js "$@"
