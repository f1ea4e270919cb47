-- +goose Up
-- Failure throttles for password checks (login, the current-password check, reset requests).
-- One row per key, e.g. an account together with one source address or one known device. After
-- a few free failures each further one blocks that key for an exponentially growing time; a row
-- is forgotten once its last failure is old enough. subject is the account's e-mail address, so
-- every row of an account can be cleared at once (a completed password reset lifts them all).
CREATE TABLE login_throttles (
    key           text PRIMARY KEY,
    subject       text NOT NULL,
    failures      integer NOT NULL,
    last_failure  timestamptz NOT NULL,
    blocked_until timestamptz NOT NULL
);
CREATE INDEX login_throttles_subject_idx ON login_throttles (subject);

-- +goose Down
DROP TABLE login_throttles;
