-- +goose Up
-- Analytics (docs/analytics.md): a history of every subscription's billing state, the daily
-- metric snapshots the Temporal schedule "analytics-daily" writes, and the indexes the admin
-- dashboard's aggregate queries use. Every date here is a UTC calendar day.

-- subscription_history is one row per change of what a subscription contributes to MRR and to
-- the active-customer count (status, product, cycle, price, currency). A trigger writes it, so
-- every path that changes a subscription (workflows, admin actions, imports, seeds) is recorded
-- and MRR movement and churn for any past period are reconstructed from facts, not from parsing
-- timeline messages. "at" is the change's updated_at (created_at for the insert), so a writer
-- that back-dates a subscription back-dates its history too.
CREATE TABLE subscription_history (
    id              bigserial PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    customer_id     bigint NOT NULL,
    at              timestamptz NOT NULL,
    status          text NOT NULL,
    product_id      bigint NOT NULL,
    cycle           text NOT NULL,
    currency        text NOT NULL,
    price           bigint NOT NULL
);
CREATE INDEX subscription_history_sub_idx ON subscription_history (subscription_id, at DESC, id DESC);
CREATE INDEX subscription_history_at_idx ON subscription_history (at) INCLUDE (customer_id);
CREATE INDEX subscription_history_customer_idx ON subscription_history (customer_id, currency, at);

-- +goose StatementBegin
CREATE FUNCTION subscription_history_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.status = OLD.status AND NEW.product_id = OLD.product_id AND NEW.cycle = OLD.cycle
       AND NEW.currency = OLD.currency AND NEW.price = OLD.price AND NEW.customer_id = OLD.customer_id THEN
        RETURN NEW;
    END IF;
    -- A subscription written with its history already behind it (an import, the demo business)
    -- arrives ended or suspended: it was active from its creation (when it ever had a period)
    -- until it ended (cancelled_at, else updated_at).
    IF TG_OP = 'INSERT' AND NEW.status IN ('cancelled', 'terminated', 'suspended') THEN
        IF NEW.period_start IS NOT NULL THEN
            INSERT INTO subscription_history (subscription_id, customer_id, at, status, product_id, cycle, currency, price)
            VALUES (NEW.id, NEW.customer_id, NEW.created_at, 'active', NEW.product_id, NEW.cycle, NEW.currency, NEW.price);
        END IF;
        INSERT INTO subscription_history (subscription_id, customer_id, at, status, product_id, cycle, currency, price)
        VALUES (NEW.id, NEW.customer_id, GREATEST(NEW.created_at, COALESCE(NEW.cancelled_at, NEW.updated_at)),
                NEW.status, NEW.product_id, NEW.cycle, NEW.currency, NEW.price);
        RETURN NEW;
    END IF;
    INSERT INTO subscription_history (subscription_id, customer_id, at, status, product_id, cycle, currency, price)
    VALUES (NEW.id, NEW.customer_id,
            CASE WHEN TG_OP = 'INSERT' THEN NEW.created_at
                 WHEN NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN NEW.updated_at
                 ELSE now() END,
            NEW.status, NEW.product_id, NEW.cycle, NEW.currency, NEW.price);
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER subscriptions_history AFTER INSERT OR UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION subscription_history_record();

-- Subscriptions that existed before this migration get the same baseline the trigger gives one
-- inserted with its history behind it: the current plan from creation, active until it ended or
-- was suspended. Earlier plan changes are not known; docs/analytics.md says so.
INSERT INTO subscription_history (subscription_id, customer_id, at, status, product_id, cycle, currency, price)
SELECT id, customer_id, created_at,
       CASE WHEN status IN ('cancelled', 'terminated', 'suspended') THEN 'active' ELSE status END,
       product_id, cycle, currency, price
FROM subscriptions
WHERE status NOT IN ('cancelled', 'terminated', 'suspended') OR period_start IS NOT NULL;
INSERT INTO subscription_history (subscription_id, customer_id, at, status, product_id, cycle, currency, price)
SELECT id, customer_id, GREATEST(created_at, COALESCE(cancelled_at, updated_at)), status, product_id, cycle, currency, price
FROM subscriptions
WHERE status IN ('cancelled', 'terminated', 'suspended');

-- One row per UTC day and currency: the metrics as they stood at the end of that day, and the
-- day's revenue and MRR movement. Written by the analytics-snapshot workflow and the backfill
-- command (an upsert, so recomputing a day replaces it).
CREATE TABLE metric_snapshots (
    day                  date NOT NULL,
    currency             text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    mrr                  bigint NOT NULL,
    active_subscriptions integer NOT NULL,
    active_customers     integer NOT NULL,
    payments             bigint NOT NULL,
    refunds              bigint NOT NULL,
    new_mrr              bigint NOT NULL,
    expansion_mrr        bigint NOT NULL,
    contraction_mrr      bigint NOT NULL,
    churned_mrr          bigint NOT NULL,
    reactivation_mrr     bigint NOT NULL,
    overdue_count        integer NOT NULL,
    overdue_amount       bigint NOT NULL,
    computed_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, currency)
);
CREATE INDEX metric_snapshots_currency_idx ON metric_snapshots (currency, day);

-- The dashboard's aggregates: revenue by day and month, MRR by price point, popular plans.
CREATE INDEX payments_created_idx ON payments (created_at) INCLUDE (amount, currency, invoice_id);
CREATE INDEX refunds_created_idx ON refunds (created_at) INCLUDE (amount, currency, payment_id);
CREATE INDEX subscriptions_mrr_idx ON subscriptions (currency, cycle, price, customer_id)
    WHERE status IN ('active', 'past_due');
CREATE INDEX subscriptions_live_product_idx ON subscriptions (product_id)
    WHERE status IN ('active', 'past_due');
CREATE INDEX invoices_overdue_idx ON invoices (due_at) INCLUDE (currency) WHERE status = 'unpaid';

-- +goose Down
DROP INDEX invoices_overdue_idx;
DROP INDEX subscriptions_live_product_idx;
DROP INDEX subscriptions_mrr_idx;
DROP INDEX refunds_created_idx;
DROP INDEX payments_created_idx;
DROP TABLE metric_snapshots;
DROP TRIGGER subscriptions_history ON subscriptions;
DROP FUNCTION subscription_history_record();
DROP TABLE subscription_history;
