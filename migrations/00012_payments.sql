-- +goose Up
-- The payments package's ledger state: refund states, payments that settle later, the hosted
-- checkout pages open for an invoice, charges in flight, and money that needs a person.

-- A refund is pending until the gateway says it reached the customer; a failed one never did
-- and no longer counts against the payment.
-- A refund to account credit moves no money at the gateway: its method is 'credit' and its
-- credit note says so; reconciliation with the gateway skips it.
ALTER TABLE refunds
    ADD COLUMN status     text NOT NULL DEFAULT 'succeeded' CHECK (status IN ('pending', 'succeeded', 'failed')),
    ADD COLUMN method     text NOT NULL DEFAULT 'gateway' CHECK (method IN ('gateway', 'credit')),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- The part of a payment beyond what its invoice had due when it arrived (a second checkout, a
-- charge racing a manual payment): returned by refund or as account credit, never kept silently.
ALTER TABLE payments ADD COLUMN overpaid bigint NOT NULL DEFAULT 0 CHECK (overpaid >= 0 AND overpaid <= amount);

-- A payment the gateway accepted but has not settled (SEPA, ACH and Bacs debits, a processing
-- PaymentIntent): the invoice is not paid, and nobody charges it again while this is set.
ALTER TABLE invoices
    ADD COLUMN pending_payment_gateway text NOT NULL DEFAULT '',
    ADD COLUMN pending_payment_ref     text NOT NULL DEFAULT '',
    ADD COLUMN pending_payment_since   timestamptz,
    -- A saved-method charge in flight: set under the invoice lock after checking it is unpaid,
    -- so a second charge or a manual payment sees it and waits.
    ADD COLUMN charging_key   text NOT NULL DEFAULT '',
    ADD COLUMN charging_since timestamptz;

-- Hosted payment pages opened for an invoice; closed at the gateway once the invoice is paid
-- another way, so an open browser tab cannot pay it twice.
CREATE TABLE checkouts (
    id         bigserial PRIMARY KEY,
    invoice_id bigint NOT NULL REFERENCES invoices (id),
    gateway    text NOT NULL CHECK (gateway <> ''),
    ref        text NOT NULL CHECK (ref <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at  timestamptz,
    UNIQUE (gateway, ref)
);
CREATE INDEX checkouts_open_idx ON checkouts (invoice_id) WHERE closed_at IS NULL;

-- Money staff must look at: an overpayment (refunded or turned into credit), a failed refund,
-- a paid order with nothing to provision. Resolved by a person.
CREATE TABLE money_alerts (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('overpayment', 'refund_failed', 'unprovisionable', 'other')),
    customer_id bigint REFERENCES users (id),
    invoice_id  bigint REFERENCES invoices (id),
    payment_id  bigint REFERENCES payments (id),
    message     text NOT NULL,
    dedupe_key  text NOT NULL UNIQUE CHECK (dedupe_key <> ''),
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by text NOT NULL DEFAULT ''
);
CREATE INDEX money_alerts_open_idx ON money_alerts (created_at) WHERE resolved_at IS NULL;

-- +goose Down
DROP TABLE money_alerts;
DROP TABLE checkouts;
ALTER TABLE invoices DROP COLUMN pending_payment_gateway, DROP COLUMN pending_payment_ref,
    DROP COLUMN pending_payment_since, DROP COLUMN charging_key, DROP COLUMN charging_since;
ALTER TABLE refunds DROP COLUMN status, DROP COLUMN method, DROP COLUMN updated_at;
ALTER TABLE payments DROP COLUMN overpaid;
