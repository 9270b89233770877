-- After-sale changes of an order started through the gateway: cancellations
-- (`POST /v1/orders/{id}/cancel`) and partial refunds (`POST /v1/orders/{id}/refunds`).
-- One row per saga (saga id = the change's id), keyed for reads by tenant AND user.
-- `order_id` is the order of one of the caller's checkouts; `checkout_id` that
-- checkout. `status` is `pending` until the first SagaProgressed, then the saga's
-- status after the newest entry (`last_seq`); `refund_id` is the payment provider's
-- refund (the saga's result, guarded by `result_seq`); `failure` the first failure.
-- Kept as the user's history like `checkouts` (financial records; redacted, not
-- deleted, by DELETE /v1/me).
CREATE TABLE IF NOT EXISTS order_changes (
    saga_id     UUID        PRIMARY KEY,
    tenant_id   TEXT        NOT NULL,
    user_id     TEXT        NOT NULL,
    order_id    UUID        NOT NULL,
    checkout_id UUID        NOT NULL,
    kind        TEXT        NOT NULL CHECK (kind IN ('cancellation', 'refund')),
    request     JSONB       NOT NULL,
    status      TEXT        NOT NULL DEFAULT 'pending',
    refund_id   UUID,
    failure     JSONB,
    last_seq    BIGINT,
    result_seq  BIGINT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS order_changes_owner ON order_changes (tenant_id, user_id, order_id);

-- The order of a checkout is looked up by the after-sale routes.
CREATE INDEX IF NOT EXISTS checkouts_order ON checkouts (order_id) WHERE order_id IS NOT NULL;
