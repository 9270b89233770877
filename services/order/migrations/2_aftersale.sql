-- After-sale: orders get their tenant, and each after-sale saga (a cancellation
-- of a placed order or a refund of some of its lines) gets one row.

-- The tenant of the CreateOrder envelope. Orders created before this migration
-- have none: no after-sale command and no read API reaches them.
ALTER TABLE orders ADD COLUMN tenant_id TEXT;
-- The after-sale saga that cancelled the order (NULL: not cancelled, or cancelled
-- by its checkout saga's own compensation).
ALTER TABLE orders ADD COLUMN cancelled_by UUID;

-- The read API: a customer's orders newest first (order ids are UUID v7), and an
-- operator's view of a tenant.
CREATE INDEX orders_by_owner ON orders (tenant_id, customer_id, order_id DESC)
    WHERE order_id IS NOT NULL;
CREATE INDEX orders_by_tenant ON orders (tenant_id, order_id DESC)
    WHERE order_id IS NOT NULL;

-- One row per after-sale saga: its idempotency key and its stored outcome, from
-- which a redelivered command gets the same reply.
--   kind cancel:  cancelled (the saga cancelled the order) -> reinstated;
--   kind refund:  reserved -> released | confirmed;
--   refused:      the command was refused, `reason` says why (order_id is the
--                 command's, tenant/customer the command's: nothing is reserved);
--   tombstone:    the compensation came first (ReinstateOrder / ReleaseRefund of
--                 an unknown saga), so a late command of that saga is refused.
-- Refused and tombstone rows are pruned by the order service's housekeeping
-- (`sagaflow_order::housekeeping`); the others are the order's history and stay.
CREATE TABLE order_aftersales (
    saga_id          UUID        PRIMARY KEY,
    kind             TEXT        NOT NULL CHECK (kind IN ('cancel', 'refund')),
    status           TEXT        NOT NULL CHECK (status IN
                         ('cancelled', 'reinstated', 'reserved', 'released', 'confirmed', 'refused', 'tombstone')),
    order_id         UUID,
    tenant_id        TEXT,
    customer_id      TEXT,
    checkout_saga_id UUID,
    payment_id       UUID,
    -- cancel: what was left to refund; refund: the refunded lines' amount.
    amount_minor     BIGINT,
    currency         TEXT,
    -- cancel: the order's lines; refund: the refunded lines, priced from the order.
    items            JSONB       NOT NULL DEFAULT '[]',
    reason           TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (status IN ('refused', 'tombstone') OR (
        order_id IS NOT NULL AND tenant_id IS NOT NULL AND customer_id IS NOT NULL
        AND checkout_saga_id IS NOT NULL AND payment_id IS NOT NULL
        AND amount_minor IS NOT NULL AND currency IS NOT NULL)),
    CHECK (kind = 'cancel' OR status NOT IN ('cancelled', 'reinstated')),
    CHECK (kind = 'refund' OR status NOT IN ('reserved', 'released', 'confirmed'))
);

CREATE INDEX order_aftersales_by_order ON order_aftersales (order_id)
    WHERE status NOT IN ('refused', 'tombstone');
CREATE INDEX order_aftersales_prunable ON order_aftersales (updated_at)
    WHERE status IN ('refused', 'tombstone');
