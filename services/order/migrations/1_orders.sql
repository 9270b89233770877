-- One row per saga: the idempotency key of CreateOrder and CancelOrder.
--   created:   the order exists (`order_id` set);
--   failed:    the order was refused, `reason` says why;
--   cancelled: compensated, or a CancelOrder came first (a tombstone without an
--              order) so that a late CreateOrder is refused.
CREATE TABLE orders (
    saga_id     UUID        PRIMARY KEY,
    order_id    UUID        UNIQUE,
    customer_id TEXT,
    items       JSONB       NOT NULL DEFAULT '[]',
    total_minor BIGINT,
    currency    TEXT,
    payment_id  UUID,
    status      TEXT        NOT NULL CHECK (status IN ('created', 'failed', 'cancelled')),
    reason      TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (status <> 'created' OR order_id IS NOT NULL)
);
