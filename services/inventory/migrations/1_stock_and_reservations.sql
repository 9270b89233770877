-- Stock per SKU. The CHECK is the last line of defence against overselling; the
-- handler's conditional UPDATE (available >= quantity) is the first.
CREATE TABLE stock (
    sku        TEXT        PRIMARY KEY,
    available  INTEGER     NOT NULL CHECK (available >= 0),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per saga: the idempotency key of Reserve and Release.
--   reserved: stock was taken for `items`;
--   failed:   the reservation was refused (nothing taken), `reason` / `failed_sku` say why;
--   released: the stock was given back, or a Release came first (a tombstone with no
--             items) so that a late Reserve is refused.
CREATE TABLE reservations (
    saga_id        UUID        PRIMARY KEY,
    status         TEXT        NOT NULL CHECK (status IN ('reserved', 'failed', 'released')),
    items          JSONB       NOT NULL DEFAULT '[]',
    reservation_id UUID,
    reason         TEXT,
    failed_sku     TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
