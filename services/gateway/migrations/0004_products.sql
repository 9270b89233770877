-- The gateway's read model of the product catalogue, projected from
-- ProductChanged (catalog.events): one row per SKU, the highest `version` wins
-- (a redelivered or reordered older event never moves a product backwards).
-- The catalogue is the shop's, not a user's: public reads, no tenant key.
CREATE TABLE IF NOT EXISTS products (
    sku          TEXT        PRIMARY KEY,
    name         TEXT        NOT NULL,
    description  TEXT        NOT NULL,
    active       BOOLEAN     NOT NULL,
    -- [{"currency": "EUR", "amount_minor": 1250}, ...]
    prices       JSONB       NOT NULL,
    version      BIGINT      NOT NULL,
    changed_at   TIMESTAMPTZ NOT NULL,
    projected_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- GET /v1/products lists active products in SKU order (keyset pagination).
CREATE INDEX IF NOT EXISTS products_active_sku ON products (sku) WHERE active;
