-- The price table, kept from the catalogue's ProductChanged events (catalog.events):
-- one row per SKU at the highest version seen, and its unit price per currency.
-- The catalogue is platform-wide (operators manage it), not per tenant.
CREATE TABLE catalog_products (
    sku        TEXT        PRIMARY KEY,
    active     BOOLEAN     NOT NULL,
    version    BIGINT      NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE catalog_prices (
    sku          TEXT   NOT NULL REFERENCES catalog_products (sku) ON DELETE CASCADE,
    currency     TEXT   NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (sku, currency)
);

-- Tax (VAT / sales tax) by shipping country, in basis points (1900 = 19 %),
-- applied to the subtotal after discount. Standard rates; operators change rows.
CREATE TABLE tax_rates (
    country      TEXT    PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
    basis_points INTEGER NOT NULL CHECK (basis_points BETWEEN 0 AND 10000)
);

INSERT INTO tax_rates (country, basis_points) VALUES
    ('AT', 2000), ('BE', 2100), ('BG', 2000), ('CH', 810),  ('CY', 1900),
    ('CZ', 2100), ('DE', 1900), ('DK', 2500), ('EE', 2200), ('ES', 2100),
    ('FI', 2550), ('FR', 2000), ('GB', 2000), ('GR', 2400), ('HR', 2500),
    ('HU', 2700), ('IE', 2300), ('IT', 2200), ('LT', 2100), ('LU', 1700),
    ('LV', 2100), ('MT', 1800), ('NL', 2100), ('NO', 2500), ('PL', 2300),
    ('PT', 2300), ('RO', 1900), ('SE', 2500), ('SI', 2200), ('SK', 2300),
    -- No federal sales tax; state taxes are out of scope: 0 %.
    ('US', 0),    ('CA', 500),  ('AU', 1000), ('JP', 1000), ('NZ', 1500);

-- Discount codes: a whole percent of the subtotal, or a fixed amount in one
-- currency (never more than the subtotal); inactive or expired codes are refused.
ALTER TABLE discount_codes
    ALTER COLUMN percent_off DROP NOT NULL,
    ADD COLUMN kind         TEXT        NOT NULL DEFAULT 'percent' CHECK (kind IN ('percent', 'fixed')),
    ADD COLUMN amount_minor BIGINT      CHECK (amount_minor > 0),
    ADD COLUMN currency     TEXT        CHECK (currency ~ '^[A-Z]{3}$'),
    ADD COLUMN active       BOOLEAN     NOT NULL DEFAULT true,
    ADD COLUMN expires_at   TIMESTAMPTZ,
    ADD COLUMN updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN updated_by   TEXT,
    ADD CONSTRAINT discount_codes_kind_fields CHECK (
        (kind = 'percent' AND percent_off IS NOT NULL AND amount_minor IS NULL AND currency IS NULL)
        OR (kind = 'fixed' AND percent_off IS NULL AND amount_minor IS NOT NULL AND currency IS NOT NULL)
    );

-- What a stored quote priced: its lines (with catalogue prices) and its tax.
ALTER TABLE quotes
    ADD COLUMN lines            JSONB,
    ADD COLUMN tax_country      TEXT,
    ADD COLUMN tax_basis_points INTEGER;
