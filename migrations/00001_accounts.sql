-- +goose Up
CREATE TABLE roles (
    name        text PRIMARY KEY,
    description text NOT NULL,
    staff       boolean NOT NULL
);
INSERT INTO roles (name, description, staff) VALUES
    ('admin', 'Staff with full access to the admin panel', true),
    ('customer', 'A customer of the hosting company; portal access only', false);

CREATE TABLE users (
    id                bigserial PRIMARY KEY,
    email             text NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    email_verified_at timestamptz,
    password_hash     text NOT NULL,
    name              text NOT NULL CHECK (name <> ''),
    role              text NOT NULL REFERENCES roles (name),
    theme             text NOT NULL DEFAULT 'light' CHECK (theme IN ('light', 'dark')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE customer_profiles (
    user_id    bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    company    text NOT NULL DEFAULT '',
    phone      text NOT NULL DEFAULT '',
    address1   text NOT NULL DEFAULT '',
    address2   text NOT NULL DEFAULT '',
    city       text NOT NULL DEFAULT '',
    state      text NOT NULL DEFAULT '',
    postcode   text NOT NULL DEFAULT '',
    country    text NOT NULL DEFAULT '' CHECK (country = '' OR country ~ '^[A-Z]{2}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Sessions are looked up by the SHA-256 of the cookie value, so a database leak does not leak live sessions.
CREATE TABLE sessions (
    id_hash      bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- One-time tokens for email verification and password reset, stored as SHA-256 hashes.
CREATE TABLE user_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX user_tokens_user_idx ON user_tokens (user_id, purpose);

CREATE TABLE login_attempts (
    id         bigserial PRIMARY KEY,
    user_id    bigint REFERENCES users (id) ON DELETE SET NULL,
    email      text NOT NULL,
    ip         text NOT NULL,
    user_agent text NOT NULL,
    success    boolean NOT NULL,
    reason     text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_user_idx ON login_attempts (user_id, at DESC);
CREATE INDEX login_attempts_at_idx ON login_attempts (at DESC);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    bigint REFERENCES users (id) ON DELETE SET NULL,
    actor_email text NOT NULL DEFAULT '',
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    ip          text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at DESC);

-- Fixed-window counters shared by every web process (login and reset throttling).
CREATE TABLE rate_limits (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL
);

-- +goose Down
DROP TABLE rate_limits;
DROP TABLE audit_log;
DROP TABLE login_attempts;
DROP TABLE user_tokens;
DROP TABLE sessions;
DROP TABLE customer_profiles;
DROP TABLE users;
DROP TABLE roles;
