-- +goose Up
-- What staff edit on the catalog beyond the first cut: a stock limit (most live services of a
-- product; NULL = no limit) and the fields the order form asks for (hostname, OS template,
-- location, game egg), as a jsonb list of {key, label, required, kind, options}.
ALTER TABLE products
    ADD COLUMN stock_limit  integer CHECK (stock_limit >= 0),
    ADD COLUMN order_fields jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(order_fields) = 'array');

-- +goose Down
ALTER TABLE products DROP COLUMN stock_limit, DROP COLUMN order_fields;
