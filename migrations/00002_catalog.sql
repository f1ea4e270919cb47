-- +goose Up
-- The first cut of the catalog: what the demo seed and the marketing site show. The billing
-- work extends it (order fields, stock, coupons, panel mapping).
CREATE TABLE product_groups (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]+$'),
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    sort        integer NOT NULL DEFAULT 0
);

CREATE TABLE products (
    id          bigserial PRIMARY KEY,
    group_id    bigint NOT NULL REFERENCES product_groups (id),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]+$'),
    name        text NOT NULL,
    type        text NOT NULL CHECK (type IN ('vps', 'dedicated', 'web_hosting', 'game_server')),
    description text NOT NULL DEFAULT '',
    hidden      boolean NOT NULL DEFAULT false,
    retired     boolean NOT NULL DEFAULT false,
    sort        integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Prices in integer minor units of the currency; never floats.
CREATE TABLE product_prices (
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    cycle      text NOT NULL CHECK (cycle IN ('monthly', 'quarterly', 'semiannual', 'annual', 'biennial', 'triennial', 'onetime')),
    currency   text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount     bigint NOT NULL CHECK (amount >= 0),
    setup_fee  bigint NOT NULL DEFAULT 0 CHECK (setup_fee >= 0),
    PRIMARY KEY (product_id, cycle, currency)
);

-- +goose Down
DROP TABLE product_prices;
DROP TABLE products;
DROP TABLE product_groups;
