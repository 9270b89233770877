-- The catalogue: one row per SKU, its version bumped by every change (the
-- ProductChanged event of the change carries it), and a unit price per currency.
-- Platform-wide: operators manage it, every tenant sells it.
CREATE TABLE products (
    sku         TEXT        PRIMARY KEY CHECK (sku ~ '^[A-Z0-9-]{1,64}$'),
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description TEXT        NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    active      BOOLEAN     NOT NULL DEFAULT true,
    version     BIGINT      NOT NULL CHECK (version >= 1),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by  TEXT        NOT NULL
);

CREATE TABLE product_prices (
    sku          TEXT   NOT NULL REFERENCES products (sku) ON DELETE CASCADE,
    currency     TEXT   NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (sku, currency)
);

-- Text filter of the listing.
CREATE INDEX products_name_lower ON products (lower(name));
