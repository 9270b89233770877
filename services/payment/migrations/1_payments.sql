-- One row per saga: the idempotency key of ProcessPayment and CompensatePayment.
-- The primary key makes "at most one charge per saga" a database fact.
--   captured: authorized and captured by the provider (`payment_id` set);
--   declined: the provider refused, `reason` says why; nothing was charged;
--   refunded: captured, then refunded (see `refunds`);
--   voided:   a compensation arrived before any charge (a tombstone): a late
--             ProcessPayment for this saga is refused and never charges.
CREATE TABLE payments (
    saga_id      UUID        PRIMARY KEY,
    payment_id   UUID        UNIQUE,
    customer_id  TEXT,
    amount_minor BIGINT      NOT NULL CHECK (amount_minor >= 0),
    currency     TEXT        NOT NULL,
    status       TEXT        NOT NULL CHECK (status IN ('captured', 'declined', 'refunded', 'voided')),
    reason       TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (status NOT IN ('captured', 'refunded') OR payment_id IS NOT NULL)
);

-- The refund log: at most one refund per saga.
CREATE TABLE refunds (
    saga_id      UUID        PRIMARY KEY REFERENCES payments (saga_id),
    payment_id   UUID        NOT NULL,
    amount_minor BIGINT      NOT NULL CHECK (amount_minor >= 0),
    reason       TEXT        NOT NULL,
    refunded_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
