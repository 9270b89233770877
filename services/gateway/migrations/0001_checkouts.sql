-- Gateway read/write model: checkouts started here, idempotency keys of POST
-- /v1/checkouts, and the projected saga log (from orchestrator.events).

-- One row per checkout started through the gateway. `status` is `pending` until the
-- first SagaProgressed arrives, then the saga status after the newest event
-- (`last_seq`), so a redelivered older event never moves it backwards.
CREATE TABLE IF NOT EXISTS checkouts (
    checkout_id UUID        PRIMARY KEY,
    tenant_id   TEXT        NOT NULL,
    user_id     TEXT        NOT NULL,
    cart_id     UUID        NOT NULL,
    request     JSONB       NOT NULL,
    status      TEXT        NOT NULL DEFAULT 'pending',
    order_id    UUID,
    failure     JSONB,
    last_seq    BIGINT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS checkouts_owner ON checkouts (tenant_id, user_id, created_at DESC);

-- Idempotency-Key per (tenant, user, key). `response_status` NULL = the first
-- request is still running. Rows older than the TTL are treated as absent.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    tenant_id       TEXT        NOT NULL,
    user_id         TEXT        NOT NULL,
    idempotency_key TEXT        NOT NULL,
    request_hash    BYTEA       NOT NULL,
    response_status SMALLINT,
    response_body   JSONB,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at    TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, user_id, idempotency_key)
);

-- For a future sweeper of expired keys.
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);

-- The projected saga log of gateway checkouts: one row per SagaProgressed.
CREATE TABLE IF NOT EXISTS saga_progress (
    saga_id            UUID        NOT NULL REFERENCES checkouts (checkout_id) ON DELETE CASCADE,
    seq                BIGINT      NOT NULL,
    definition         TEXT        NOT NULL,
    definition_version INTEGER     NOT NULL,
    kind               TEXT        NOT NULL,
    step               TEXT,
    status             TEXT        NOT NULL,
    detail             JSONB       NOT NULL,
    at                 TIMESTAMPTZ NOT NULL,
    projected_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (saga_id, seq)
);
