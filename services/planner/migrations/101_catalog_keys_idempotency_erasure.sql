-- Issue #11 for the planner: prices from the catalogue's events, every row of user
-- data keyed by (tenant_id, user_id), idempotent intents, a per-user daily money
-- budget, expiring unconfirmed plans, and erasure with a tombstone.

-- The planner's own price list (loaded from PLANNER_CATALOG) goes: prices come
-- from `ProductChanged` on `catalog.events` (highest version per SKU wins).
DROP TABLE catalog_prices;

CREATE TABLE catalog_products (
    sku        TEXT        PRIMARY KEY,
    name       TEXT        NOT NULL,
    active     BOOLEAN     NOT NULL,
    -- [{"currency": "EUR", "amount_minor": 1250}, ...]
    prices     JSONB       NOT NULL,
    version    BIGINT      NOT NULL,
    at_ms      BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Unconfirmed plans (awaiting confirmation, dry runs) expire.
ALTER TABLE plans DROP CONSTRAINT plans_status_check;
ALTER TABLE plans ADD CONSTRAINT plans_status_check CHECK (status IN (
    'rejected', 'dry_run', 'awaiting_confirmation', 'running', 'compensating',
    'completed', 'compensated', 'failed', 'compensation_failed', 'expired'));
ALTER TABLE plans ADD COLUMN expires_at TIMESTAMPTZ;
CREATE INDEX plans_expiring ON plans (expires_at)
    WHERE status IN ('awaiting_confirmation', 'dry_run');
CREATE INDEX plans_updated ON plans (updated_at);

-- The audit log and the children carry their plan's tenant and user.
ALTER TABLE plan_log ADD COLUMN tenant_id TEXT, ADD COLUMN user_id TEXT;
UPDATE plan_log l SET tenant_id = p.tenant_id, user_id = p.user_id
FROM plans p WHERE p.plan_id = l.plan_id;
ALTER TABLE plan_log ALTER COLUMN tenant_id SET NOT NULL, ALTER COLUMN user_id SET NOT NULL;
CREATE INDEX plan_log_owner ON plan_log (tenant_id, user_id);

ALTER TABLE plan_children ADD COLUMN tenant_id TEXT, ADD COLUMN user_id TEXT;
UPDATE plan_children c SET tenant_id = p.tenant_id, user_id = p.user_id
FROM plans p WHERE p.plan_id = c.plan_id;
ALTER TABLE plan_children ALTER COLUMN tenant_id SET NOT NULL, ALTER COLUMN user_id SET NOT NULL;
CREATE INDEX plan_children_owner ON plan_children (tenant_id, user_id);

CREATE INDEX known_sagas_owner ON known_sagas (tenant_id, user_id);
CREATE INDEX known_sagas_seen ON known_sagas (seen_at);
CREATE INDEX known_applications_owner ON known_applications (tenant_id, user_id);
CREATE INDEX known_applications_seen ON known_applications (seen_at);

-- The cart a user's plans fill: random, made on first use, never derivable from
-- the tenant and user.
CREATE TABLE assistant_carts (
    tenant_id  TEXT        NOT NULL,
    user_id    TEXT        NOT NULL,
    cart_id    UUID        NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

-- Idempotency keys of `POST /v1/assistant/intents`. A row is claimed (response
-- NULL, `claim` set) before the LLM is asked, outside any transaction, and
-- completed with the answer in the transaction that makes the plan.
CREATE TABLE intent_requests (
    tenant_id       TEXT        NOT NULL,
    user_id         TEXT        NOT NULL,
    idempotency_key TEXT        NOT NULL,
    request_hash    BYTEA       NOT NULL,
    claim           UUID        NOT NULL,
    claimed_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    plan_id         UUID,
    response_status SMALLINT,
    response_body   JSONB,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at    TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, user_id, idempotency_key)
);
CREATE INDEX intent_requests_created ON intent_requests (created_at);

-- Money a user's plans committed per UTC day (tax included, budget currency).
CREATE TABLE daily_spend (
    tenant_id   TEXT   NOT NULL,
    user_id     TEXT   NOT NULL,
    day         DATE   NOT NULL,
    spent_minor BIGINT NOT NULL DEFAULT 0 CHECK (spent_minor >= 0),
    PRIMARY KEY (tenant_id, user_id, day)
);
CREATE INDEX daily_spend_day ON daily_spend (day);

-- Erasure tombstones: a message about the user older than the request is not
-- written back.
CREATE TABLE erasures (
    tenant_id       TEXT        NOT NULL,
    user_id         TEXT        NOT NULL,
    erasure_id      UUID        NOT NULL,
    requested_at_ms BIGINT      NOT NULL,
    plans_erased    BIGINT      NOT NULL DEFAULT 0,
    erased_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX erasures_erased ON erasures (erased_at);
