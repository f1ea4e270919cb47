-- Runs once, when the postgresql service initialises an empty volume (docker-entrypoint-initdb.d),
-- as the superuser. The application gets its own role and database; Temporal's databases
-- (temporal, temporal_visibility) are created later by the temporal-schema job and stay separate.
\set ON_ERROR_STOP on
\getenv ezscale_password EZSCALE_DB_PASSWORD
\if :{?ezscale_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'EZSCALE_DB_PASSWORD is not set in the postgresql service environment'; END $$;
\endif

CREATE ROLE ezscale LOGIN PASSWORD :'ezscale_password';
CREATE DATABASE ezscale OWNER ezscale ENCODING 'UTF8' TEMPLATE template0;
-- Only the owner (and superusers) may connect to the application database.
REVOKE CONNECT, TEMPORARY ON DATABASE ezscale FROM PUBLIC;
