-- Discount codes: a whole-percent reduction of the subtotal.
CREATE TABLE discount_codes (
    code        TEXT    PRIMARY KEY,
    percent_off INTEGER NOT NULL CHECK (percent_off BETWEEN 0 AND 100)
);

-- One quote per saga: the idempotency key of PriceOrder (a repeat gets the same
-- answer even if codes or tax changed meanwhile).
CREATE TABLE quotes (
    saga_id        UUID        PRIMARY KEY,
    status         TEXT        NOT NULL CHECK (status IN ('priced', 'failed')),
    subtotal_minor BIGINT,
    discount_minor BIGINT,
    tax_minor      BIGINT,
    total_minor    BIGINT,
    currency       TEXT        NOT NULL,
    discount_code  TEXT,
    reason         TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (status <> 'priced' OR total_minor IS NOT NULL)
);
