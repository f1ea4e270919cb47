#!/bin/sh
# Creates Temporal's databases on PostgreSQL and brings their schemas up to the version this
# admin-tools image ships. Runs as the one-shot temporal-schema job; every step is idempotent
# (create ignores an existing database, setup-schema -v 0.0 skips a versioned schema,
# update-schema applies only newer versions), so it is safe on every `up`.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (database host) must be set}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}" # read by temporal-sql-tool itself
DB_PORT="${DB_PORT:-5432}"
SCHEMA_DIR="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}" # schema files shipped in admin-tools

echo "Waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}..."
attempt=0
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 30 ]; then
    echo "PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT} did not open its port after $attempt attempts" >&2
    exit 1
  fi
  sleep 2
done

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  schema=${pair#*:}
  echo "Setting up database ${db} (schema ${SCHEMA_DIR}/${schema})"
  sql_tool --db "$db" create-database --defaultdb postgres
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "${SCHEMA_DIR}/${schema}/versioned"
done

echo "Temporal schema setup complete"
