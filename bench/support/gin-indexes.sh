#!/usr/bin/env bash
# Indexed lookups for FerretDB 1.24 on PostgreSQL (`--handler=postgresql`), a benchmark stand-in
# for MongoDB's indexes (docs/performance.md, "Pipeline on an indexed stand-in").
#
# FerretDB stores each collection as a table `(_jsonb jsonb)` in a schema named after the MongoDB
# database, and turns each index the relay declares into a B-tree on `((_jsonb -> 'field'))`. But it
# pushes an equality filter down as `_jsonb -> $1 @> $2` (jsonb containment), which no B-tree
# serves: every find is a sequential scan. For the first field of every index FerretDB made (`_id`
# included: what MongoDB would use for an equality lookup), this adds `USING gin ((_jsonb -> 'field') jsonb_path_ops)`, which serves that
# containment (PostgreSQL plans FerretDB's prepared statements with their parameters' values, so
# the key `$1` is known). A GIN on the whole `_jsonb` would not: the filter is on `_jsonb -> key`.
#
#   bash bench/support/gin-indexes.sh POSTGRES_URL            # once: index every table now
#   bash bench/support/gin-indexes.sh POSTGRES_URL --watch    # every second until stopped, so that
#                                                             # collections created later get theirs
#
# POSTGRES_URL: FerretDB's `--postgresql-url` (its database holds every MongoDB database as a schema).
set -euo pipefail

URL="${1:?usage: gin-indexes.sh POSTGRES_URL [--watch]}"
WATCH="${2:-}"

# One CREATE INDEX per (table, first field of one of its B-trees) and that has no GIN yet; \gexec runs
# them. The name: "gin_" + md5 of schema, table and field (unique, within 63 characters).
SQL=$(
  cat <<'EOF'
SELECT format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((_jsonb -> %L) jsonb_path_ops) WITH (fastupdate = off)',
              'gin_' || md5(f.schemaname || '.' || f.tablename || '.' || f.field), f.schemaname, f.tablename, f.field)
FROM (
  SELECT DISTINCT i.schemaname, i.tablename,
         (regexp_match(i.indexdef, 'USING btree \(\(\(_jsonb -> ''([^'']+)''::text\)'))[1] AS field
  FROM pg_indexes i
  WHERE i.schemaname NOT IN ('pg_catalog', 'information_schema')
    AND i.indexdef LIKE '%USING btree%'
    AND i.tablename NOT LIKE '\_ferretdb\_%'
) f
WHERE f.field IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM pg_indexes g
  WHERE g.schemaname = f.schemaname
    AND g.indexname = 'gin_' || md5(f.schemaname || '.' || f.tablename || '.' || f.field)
)
EOF
)

index_once() {
  # -q: only errors; a table dropped between the query and its CREATE INDEX is not worth failing for.
  printf '%s\n\\gexec\n' "$SQL" | psql -X -q -v ON_ERROR_STOP=0 "$URL" 2>&1 | grep -v 'does not exist' >&2 || true
}

if [ "$WATCH" = --watch ]; then
  trap 'exit 0' INT TERM
  while true; do
    index_once
    sleep 1
  done
else
  index_once
  psql -X -At "$URL" -c "SELECT count(*) || ' GIN indexes' FROM pg_indexes WHERE indexname LIKE 'gin\_%'"
fi
