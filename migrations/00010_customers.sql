-- +goose Up
-- Customers in the admin panel: closing an account, staff notes, and the indexes that keep the
-- customer list, the customer page and the command palette fast on tens of thousands of rows.

-- Substring search (name, email, company, hostname, IP, invoice number) uses trigram indexes.
-- pg_trgm ships with PostgreSQL's contrib modules (part of the stock server packages and images)
-- and is a trusted extension since PostgreSQL 13, so the database owner can create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A closed account cannot log in and has no sessions; reopening clears the stamp.
ALTER TABLE users ADD COLUMN closed_at timestamptz;

CREATE TABLE customer_notes (
    id           bigserial PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    author_id    bigint REFERENCES users (id) ON DELETE SET NULL,
    author_email text NOT NULL DEFAULT '', -- kept as text so the note names its author after they leave
    body         text NOT NULL CHECK (btrim(body) <> '' AND length(body) <= 10000),
    pinned       boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_notes_customer_idx ON customer_notes (customer_id, pinned DESC, created_at DESC, id DESC);

-- Customer list: search, sort orders and filters.
CREATE INDEX users_name_trgm_idx ON users USING gin (name gin_trgm_ops);
CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
CREATE INDEX customer_profiles_company_trgm_idx ON customer_profiles USING gin (company gin_trgm_ops);
CREATE INDEX users_customer_name_idx ON users (lower(name), id) WHERE role = 'customer';
CREATE INDEX users_customer_created_idx ON users (created_at DESC, id DESC) WHERE role = 'customer';
CREATE INDEX invoices_unpaid_customer_idx ON invoices (customer_id, due_at) WHERE status = 'unpaid';

-- Palette and list search over services and invoices.
CREATE INDEX services_hostname_trgm_idx ON services USING gin (hostname gin_trgm_ops);
CREATE INDEX services_ipv4_trgm_idx ON services USING gin ((ipv4::text) gin_trgm_ops);
CREATE INDEX invoices_number_trgm_idx ON invoices USING gin (number gin_trgm_ops);

-- The customer page's audit trail: entries targeting the customer ("user:42" or an admin path
-- under /admin/customers/42/).
CREATE INDEX audit_log_target_idx ON audit_log (target text_pattern_ops, at DESC);

-- +goose Down
DROP INDEX audit_log_target_idx;
DROP INDEX invoices_number_trgm_idx;
DROP INDEX services_ipv4_trgm_idx;
DROP INDEX services_hostname_trgm_idx;
DROP INDEX invoices_unpaid_customer_idx;
DROP INDEX users_customer_created_idx;
DROP INDEX users_customer_name_idx;
DROP INDEX customer_profiles_company_trgm_idx;
DROP INDEX users_email_trgm_idx;
DROP INDEX users_name_trgm_idx;
DROP TABLE customer_notes;
ALTER TABLE users DROP COLUMN closed_at;
-- pg_trgm stays installed: it holds no data and other objects may have come to use it.
