-- +goose Up
-- Money is integer minor units (bigint) with an ISO currency; never floats. Totals are not
-- stored: they are the sums of an invoice's lines, derived by billing.Invoice.

-- Invoice numbering series. The next number is taken with SELECT ... FOR UPDATE in the same
-- transaction that inserts the invoice, so a rolled-back creation gives its number back and
-- the series has no gaps.
CREATE TABLE invoice_sequences (
    series      text PRIMARY KEY CHECK (series <> ''),
    prefix      text NOT NULL DEFAULT '',
    next_number bigint NOT NULL CHECK (next_number > 0)
);
INSERT INTO invoice_sequences (series, prefix, next_number) VALUES ('default', 'INV-', 1001);

CREATE TABLE invoices (
    id              bigserial PRIMARY KEY,
    series          text NOT NULL REFERENCES invoice_sequences (series),
    seq             bigint NOT NULL,
    number          text NOT NULL UNIQUE,
    customer_id     bigint NOT NULL REFERENCES users (id),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status          text NOT NULL CHECK (status IN
        ('draft', 'unpaid', 'paid', 'cancelled', 'refunded', 'partially_refunded')),
    reverse_charge  boolean NOT NULL DEFAULT false,
    notes           jsonb NOT NULL DEFAULT '[]',
    issued_at       timestamptz,
    due_at          timestamptz NOT NULL,
    paid_at         timestamptz,
    cancelled_at    timestamptz,
    created_by      text NOT NULL CHECK (created_by <> ''), -- workflow id or request id
    idempotency_key text NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    subscription_id bigint, -- the subscription that billed it; no FK until subscriptions exist
    service_id      bigint REFERENCES services (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (series, seq)
);
CREATE INDEX invoices_customer_idx ON invoices (customer_id, created_at DESC);
CREATE INDEX invoices_status_idx ON invoices (status, due_at);

CREATE TABLE invoice_lines (
    invoice_id  bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    position    integer NOT NULL CHECK (position >= 0),
    kind        text NOT NULL CHECK (kind IN ('product', 'setup', 'discount', 'tax', 'proration', 'credit')),
    description text NOT NULL,
    amount      bigint NOT NULL,
    product_id  bigint REFERENCES products (id),
    taxable     boolean NOT NULL DEFAULT false,
    coupon_code text NOT NULL DEFAULT '',
    PRIMARY KEY (invoice_id, position)
);

-- A payment is identified by its gateway transaction, so a webhook delivered twice is one payment.
CREATE TABLE payments (
    id             bigserial PRIMARY KEY,
    invoice_id     bigint NOT NULL REFERENCES invoices (id),
    gateway        text NOT NULL CHECK (gateway <> ''),
    gateway_txn_id text NOT NULL CHECK (gateway_txn_id <> ''),
    amount         bigint NOT NULL CHECK (amount > 0),
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL CHECK (created_by <> ''),
    UNIQUE (gateway, gateway_txn_id)
);
CREATE INDEX payments_invoice_idx ON payments (invoice_id);

CREATE TABLE refunds (
    id                bigserial PRIMARY KEY,
    payment_id        bigint NOT NULL REFERENCES payments (id),
    gateway           text NOT NULL CHECK (gateway <> ''), -- the payment's gateway
    gateway_refund_id text NOT NULL CHECK (gateway_refund_id <> ''),
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reason            text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_by        text NOT NULL CHECK (created_by <> ''),
    UNIQUE (gateway, gateway_refund_id)
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);

-- Account credit is a ledger: a balance is the SUM of a customer's entries in a currency.
CREATE TABLE credit_ledger (
    id              bigserial PRIMARY KEY,
    customer_id     bigint NOT NULL REFERENCES users (id),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount          bigint NOT NULL CHECK (amount <> 0),
    kind            text NOT NULL CHECK (kind IN ('add', 'use', 'refund', 'adjust')),
    invoice_id      bigint REFERENCES invoices (id),
    note            text NOT NULL DEFAULT '',
    created_by      text NOT NULL CHECK (created_by <> ''),
    idempotency_key text NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind IN ('add', 'refund') AND amount > 0) OR (kind = 'use' AND amount < 0) OR kind = 'adjust')
);
CREATE INDEX credit_ledger_customer_idx ON credit_ledger (customer_id, currency);

-- Gateway webhooks, deduplicated on the provider's event id.
CREATE TABLE webhook_events (
    id           bigserial PRIMARY KEY,
    provider     text NOT NULL CHECK (provider <> ''),
    event_id     text NOT NULL CHECK (event_id <> ''),
    type         text NOT NULL,
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    UNIQUE (provider, event_id)
);
CREATE INDEX webhook_events_unprocessed_idx ON webhook_events (received_at) WHERE processed_at IS NULL;

-- +goose Down
DROP TABLE webhook_events;
DROP TABLE credit_ledger;
DROP TABLE refunds;
DROP TABLE payments;
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP TABLE invoice_sequences;
