-- +goose Up
-- Subscriptions, orders, coupons and tax rules: the billing spine. Money is integer minor units.

ALTER TABLE customer_profiles
    ADD COLUMN tax_exempt boolean NOT NULL DEFAULT false,
    ADD COLUMN vat_id     text NOT NULL DEFAULT '',
    -- Per-customer dunning dates (days after the due date); NULL means the configured default.
    ADD COLUMN dunning_suspend_days   integer CHECK (dunning_suspend_days >= 0),
    ADD COLUMN dunning_terminate_days integer CHECK (dunning_terminate_days >= 0);

-- Tax rules as WHMCS keeps them: two levels, the most specific match per level applies.
CREATE TABLE tax_rules (
    id                 bigserial PRIMARY KEY,
    level              integer NOT NULL CHECK (level IN (1, 2)),
    name               text NOT NULL CHECK (name <> ''),
    country            text NOT NULL DEFAULT '' CHECK (country = '' OR country ~ '^[A-Z]{2}$'),
    state              text NOT NULL DEFAULT '',
    rate_milli_percent bigint NOT NULL CHECK (rate_milli_percent BETWEEN 0 AND 100000),
    compound           boolean NOT NULL DEFAULT false
);

CREATE TABLE coupons (
    id                bigserial PRIMARY KEY,
    code              text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_-]+$'),
    kind              text NOT NULL CHECK (kind IN ('percent', 'fixed')),
    percent_bp        bigint NOT NULL DEFAULT 0 CHECK (percent_bp BETWEEN 0 AND 10000),
    fixed             jsonb NOT NULL DEFAULT '{}', -- currency → minor units off
    duration          text NOT NULL CHECK (duration IN ('once', 'repeating', 'forever')),
    cycles            integer NOT NULL DEFAULT 0 CHECK (cycles >= 0),
    product_ids       jsonb NOT NULL DEFAULT '[]',
    include_setup     boolean NOT NULL DEFAULT false,
    expires_at        timestamptz,
    max_uses          integer NOT NULL DEFAULT 0 CHECK (max_uses >= 0),
    once_per_customer boolean NOT NULL DEFAULT false,
    stackable         boolean NOT NULL DEFAULT false,
    retired           boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
    id                   bigserial PRIMARY KEY,
    customer_id          bigint NOT NULL REFERENCES users (id),
    product_id           bigint NOT NULL REFERENCES products (id),
    service_id           bigint REFERENCES services (id),
    cycle                text NOT NULL CHECK (cycle IN ('monthly', 'quarterly', 'semiannual', 'annual', 'biennial', 'triennial', 'onetime')),
    currency             text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    price                bigint NOT NULL CHECK (price >= 0), -- recurring amount per cycle, before discounts and tax
    status               text NOT NULL DEFAULT 'pending' CHECK (status IN
        ('pending', 'active', 'past_due', 'suspended', 'cancelled', 'terminated')),
    gateway              text NOT NULL DEFAULT '',
    gateway_customer_ref text NOT NULL DEFAULT '',
    payment_method_ref   text NOT NULL DEFAULT '',
    coupons              jsonb NOT NULL DEFAULT '[]', -- coupon codes redeemed on the first invoice
    coupon_cycles        jsonb NOT NULL DEFAULT '{}', -- code → cycles already discounted
    period_start         timestamptz,
    period_end           timestamptz, -- the next due date
    anchor_day           integer CHECK (anchor_day BETWEEN 1 AND 31), -- renewals fall on this day of the month (clamped)
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    cancel_reason        text NOT NULL DEFAULT '',
    cancelled_at         timestamptz,
    created_by           text NOT NULL CHECK (created_by <> ''),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_customer_idx ON subscriptions (customer_id, created_at DESC);
CREATE INDEX subscriptions_status_idx ON subscriptions (status, period_end);

CREATE TABLE subscription_events (
    id              bigserial PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL DEFAULT now(),
    kind            text NOT NULL,
    message         text NOT NULL,
    actor           text NOT NULL DEFAULT '',
    workflow_id     text NOT NULL DEFAULT '',
    -- Set when a workflow step writes the entry, so a retried activity writes it once.
    idempotency_key text UNIQUE
);
CREATE INDEX subscription_events_sub_idx ON subscription_events (subscription_id, at, id);

ALTER TABLE invoices ADD CONSTRAINT invoices_subscription_fk FOREIGN KEY (subscription_id) REFERENCES subscriptions (id);
CREATE INDEX invoices_subscription_idx ON invoices (subscription_id) WHERE subscription_id IS NOT NULL;

CREATE TABLE coupon_redemptions (
    coupon_id       bigint NOT NULL REFERENCES coupons (id),
    customer_id     bigint NOT NULL REFERENCES users (id),
    invoice_id      bigint NOT NULL REFERENCES invoices (id),
    subscription_id bigint REFERENCES subscriptions (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (coupon_id, invoice_id)
);
CREATE INDEX coupon_redemptions_customer_idx ON coupon_redemptions (coupon_id, customer_id);

-- An order is one checkout: the key is the form's one-time token, so a double submission
-- finds the first order instead of making a second.
CREATE TABLE orders (
    id              bigserial PRIMARY KEY,
    customer_id     bigint NOT NULL REFERENCES users (id),
    idempotency_key text NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    product_id      bigint NOT NULL REFERENCES products (id),
    cycle           text NOT NULL,
    currency        text NOT NULL,
    fields          jsonb NOT NULL DEFAULT '{}',
    coupon_code     text NOT NULL DEFAULT '',
    gateway         text NOT NULL DEFAULT '',
    subscription_id bigint NOT NULL REFERENCES subscriptions (id),
    service_id      bigint REFERENCES services (id),
    invoice_id      bigint NOT NULL REFERENCES invoices (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_idx ON orders (customer_id, created_at DESC);

-- +goose Down
DROP TABLE orders;
DROP TABLE coupon_redemptions;
DROP INDEX invoices_subscription_idx;
ALTER TABLE invoices DROP CONSTRAINT invoices_subscription_fk;
DROP TABLE subscription_events;
DROP TABLE subscriptions;
DROP TABLE coupons;
DROP TABLE tax_rules;
ALTER TABLE customer_profiles DROP COLUMN tax_exempt, DROP COLUMN vat_id,
    DROP COLUMN dunning_suspend_days, DROP COLUMN dunning_terminate_days;
