-- +goose Up
-- Credit notes (docs/ledger.md): documents of their own that amend one issued invoice, numbered
-- in a gap-free series of their own, carrying their lines, tax and the buyer as they were when
-- issued. The buyer snapshot is also kept on invoices, so a later change of address or VAT id
-- does not rewrite documents already issued.

-- The credit-note series, taken with SELECT ... FOR UPDATE like the invoice series.
INSERT INTO invoice_sequences (series, prefix, next_number) VALUES ('credit_note', 'CN-', 1001);

-- The buyer as printed: {"name", "company", "address": [...], "country", "vat_id"}. NULL on
-- invoices issued before this migration; those print the current profile.
ALTER TABLE invoices ADD COLUMN buyer jsonb;

CREATE TABLE credit_notes (
    id              bigserial PRIMARY KEY,
    series          text NOT NULL REFERENCES invoice_sequences (series),
    seq             bigint NOT NULL,
    number          text NOT NULL UNIQUE,
    invoice_id      bigint NOT NULL REFERENCES invoices (id),
    customer_id     bigint NOT NULL REFERENCES users (id),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reason          text NOT NULL CHECK (reason IN
        ('downgrade', 'invoice_cancelled', 'refund_to_credit', 'overpayment', 'manual')),
    subtotal        bigint NOT NULL CHECK (subtotal >= 0), -- the credited lines that are not tax
    tax             bigint NOT NULL CHECK (tax >= 0),
    total           bigint NOT NULL CHECK (total > 0 AND total = subtotal + tax),
    -- The part of the total that went to account credit; the rest was refunded or reduced what
    -- the invoice still asked for.
    credit_amount   bigint NOT NULL CHECK (credit_amount >= 0 AND credit_amount <= total),
    buyer           jsonb NOT NULL,
    created_by      text NOT NULL CHECK (created_by <> ''),
    idempotency_key text NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    issued_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (series, seq)
);
CREATE INDEX credit_notes_customer_idx ON credit_notes (customer_id, issued_at DESC);
CREATE INDEX credit_notes_invoice_idx ON credit_notes (invoice_id);

-- Lines are positive amounts credited; tax lines carry the tax share.
CREATE TABLE credit_note_lines (
    credit_note_id bigint NOT NULL REFERENCES credit_notes (id) ON DELETE CASCADE,
    position       integer NOT NULL CHECK (position >= 0),
    kind           text NOT NULL CHECK (kind IN ('product', 'setup', 'proration', 'tax', 'credit')),
    description    text NOT NULL,
    amount         bigint NOT NULL,
    product_id     bigint REFERENCES products (id),
    taxable        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (credit_note_id, position)
);

-- Credit a credit note gives points at it.
ALTER TABLE credit_ledger ADD COLUMN credit_note_id bigint REFERENCES credit_notes (id);
ALTER TABLE credit_ledger DROP CONSTRAINT credit_ledger_kind_check;
ALTER TABLE credit_ledger ADD CONSTRAINT credit_ledger_kind_check
    CHECK (kind IN ('add', 'use', 'refund', 'adjust', 'credit_note'));
ALTER TABLE credit_ledger DROP CONSTRAINT credit_ledger_check;
ALTER TABLE credit_ledger ADD CONSTRAINT credit_ledger_check
    CHECK ((kind IN ('add', 'refund') AND amount > 0) OR (kind = 'use' AND amount < 0) OR kind = 'adjust'
        OR (kind = 'credit_note' AND amount > 0 AND credit_note_id IS NOT NULL));
CREATE INDEX credit_ledger_credit_note_idx ON credit_ledger (credit_note_id) WHERE credit_note_id IS NOT NULL;

-- A redemption is released when the unpaid invoice that redeemed it is cancelled: it no longer
-- counts against max_uses or once_per_customer.
ALTER TABLE coupon_redemptions ADD COLUMN released_at timestamptz;

-- +goose Down
ALTER TABLE coupon_redemptions DROP COLUMN released_at;
DROP INDEX credit_ledger_credit_note_idx;
-- Credit given by credit notes stays credit: it becomes a plain grant.
UPDATE credit_ledger SET kind = 'add' WHERE kind = 'credit_note';
ALTER TABLE credit_ledger DROP CONSTRAINT credit_ledger_check;
ALTER TABLE credit_ledger ADD CONSTRAINT credit_ledger_check
    CHECK ((kind IN ('add', 'refund') AND amount > 0) OR (kind = 'use' AND amount < 0) OR kind = 'adjust');
ALTER TABLE credit_ledger DROP CONSTRAINT credit_ledger_kind_check;
ALTER TABLE credit_ledger ADD CONSTRAINT credit_ledger_kind_check CHECK (kind IN ('add', 'use', 'refund', 'adjust'));
ALTER TABLE credit_ledger DROP COLUMN credit_note_id;
DROP TABLE credit_note_lines;
DROP TABLE credit_notes;
ALTER TABLE invoices DROP COLUMN buyer;
DELETE FROM invoice_sequences WHERE series = 'credit_note';
