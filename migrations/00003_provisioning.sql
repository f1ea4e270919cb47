-- +goose Up
-- Panel instances staff can provision on. Credentials are sealed with APP_KEY (secrets.Box).
CREATE TABLE panel_servers (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    type         text NOT NULL CHECK (type IN ('virtfusion', 'pterodactyl', 'synergycp', 'enhance')),
    base_url     text NOT NULL CHECK (base_url ~ '^https?://'),
    token_sealed bytea NOT NULL,
    extra_sealed bytea NOT NULL,
    capacity     integer NOT NULL DEFAULT 0 CHECK (capacity >= 0), -- 0 = no limit of ours
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- How a product maps onto a panel: the panel type, the plan/package/egg id and options.
ALTER TABLE products
    ADD COLUMN panel_type    text CHECK (panel_type IN ('virtfusion', 'pterodactyl', 'synergycp', 'enhance')),
    ADD COLUMN panel_plan_id text NOT NULL DEFAULT '',
    ADD COLUMN panel_options jsonb NOT NULL DEFAULT '{}';

-- A service is one thing a customer has on a panel.
CREATE TABLE services (
    id               bigserial PRIMARY KEY,
    customer_id      bigint NOT NULL REFERENCES users (id),
    product_id       bigint NOT NULL REFERENCES products (id),
    panel_server_id  bigint NOT NULL REFERENCES panel_servers (id),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN
        ('pending', 'provisioning', 'active', 'suspended', 'terminated', 'needs_attention', 'abandoned')),
    hostname         text NOT NULL DEFAULT '',
    panel_service_id text NOT NULL DEFAULT '',
    panel_extra      jsonb NOT NULL DEFAULT '{}',
    ipv4             jsonb NOT NULL DEFAULT '[]',
    ipv6             jsonb NOT NULL DEFAULT '[]',
    password_sealed  bytea,
    attention        text NOT NULL DEFAULT '',
    created_by       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    archived_at      timestamptz
);
CREATE INDEX services_customer_idx ON services (customer_id, created_at DESC);
CREATE INDEX services_status_idx ON services (status, updated_at DESC);
-- One panel resource belongs to at most one service: what makes adopting an orphan safe.
CREATE UNIQUE INDEX services_panel_resource_key ON services (panel_server_id, panel_service_id) WHERE panel_service_id <> '';

-- The panel account made for a customer on a panel instance.
CREATE TABLE panel_accounts (
    panel_server_id bigint NOT NULL REFERENCES panel_servers (id),
    customer_id     bigint NOT NULL REFERENCES users (id),
    account_id      text NOT NULL,
    extra           jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (panel_server_id, customer_id)
);

-- Everything that happened to a service, newest last.
CREATE TABLE service_events (
    id          bigserial PRIMARY KEY,
    service_id  bigint NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL,
    message     text NOT NULL,
    actor       text NOT NULL DEFAULT '',
    workflow_id text NOT NULL DEFAULT ''
);
CREATE INDEX service_events_service_idx ON service_events (service_id, at, id);

-- +goose Down
DROP TABLE service_events;
DROP TABLE panel_accounts;
DROP TABLE services;
ALTER TABLE products DROP COLUMN panel_type, DROP COLUMN panel_plan_id, DROP COLUMN panel_options;
DROP TABLE panel_servers;
