-- +goose Up
-- Staff roles beside the administrator, and impersonation ("log in as customer").
-- What each role may do is defined in code (httpapi/roles.go); the table says who is staff.
UPDATE roles SET description = 'Administrator: every part of the admin panel, including panels, catalog edits and staff'
WHERE name = 'admin';
INSERT INTO roles (name, description, staff) VALUES
    ('billing', 'Billing staff: customers, credit and invoices', true),
    ('support', 'Support staff: customers, notes, service operations and impersonation', true);

-- A session started by a member of staff acting as a customer records who is acting. The staff
-- member's own session is ended when impersonation starts and re-issued when it ends.
ALTER TABLE sessions
    ADD COLUMN impersonator_id bigint REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX sessions_impersonator_idx ON sessions (impersonator_id) WHERE impersonator_id IS NOT NULL;

-- Audit entries made during impersonation name both identities: the actor is the customer whose
-- session made the change, the impersonator the staff member acting. The email is kept as text
-- like actor_email so the record survives the user's deletion.
ALTER TABLE audit_log
    ADD COLUMN impersonator_id    bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN impersonator_email text NOT NULL DEFAULT '';
CREATE INDEX audit_log_impersonated_idx ON audit_log (at DESC, id DESC) WHERE impersonator_email <> '';
CREATE INDEX audit_log_action_idx ON audit_log (action text_pattern_ops);

-- +goose Down
DROP INDEX audit_log_action_idx;
DROP INDEX audit_log_impersonated_idx;
ALTER TABLE audit_log DROP COLUMN impersonator_email, DROP COLUMN impersonator_id;
ALTER TABLE sessions DROP COLUMN impersonator_id;
-- Billing and support staff lose admin access rather than gain the administrator role.
DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE role IN ('billing', 'support'));
UPDATE users SET role = 'customer' WHERE role IN ('billing', 'support');
DELETE FROM roles WHERE name IN ('billing', 'support');
UPDATE roles SET description = 'Staff with full access to the admin panel' WHERE name = 'admin';
