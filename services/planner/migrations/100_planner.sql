-- The planner's own tables. The plan sagas themselves live in the saga store's
-- tables (`sagas`, `saga_events`, `saga_timeouts`, from sagaflow-saga-store), keyed
-- by the plan id. Version 100 keeps clear of the store's and the bus's versions.

-- One row per request: the text, the parsed intent, the drafted steps, the
-- validation and where the plan is.
CREATE TABLE plans (
    plan_id      UUID        PRIMARY KEY,
    tenant_id    TEXT        NOT NULL,
    user_id      TEXT        NOT NULL,
    request_id   TEXT,
    traceparent  TEXT,
    text         TEXT        NOT NULL,
    dry_run      BOOLEAN     NOT NULL,
    intent       JSONB       NOT NULL,
    -- `plan.buy`, ...; NULL when no plan could be drafted.
    shape        TEXT,
    steps        JSONB       NOT NULL,
    validation   JSONB       NOT NULL,
    status       TEXT        NOT NULL CHECK (status IN (
                     'rejected', 'dry_run', 'awaiting_confirmation', 'running',
                     'compensating', 'completed', 'compensated', 'failed',
                     'compensation_failed')),
    confirmed_at TIMESTAMPTZ,
    -- Last seq of the plan's audit log (bumped under the row lock).
    audit_seq    BIGINT      NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX plans_owner ON plans (tenant_id, user_id, created_at DESC);

-- The audit log: every intent, plan, validation, confirmation, emitted command and
-- step outcome, in order. Each row is also published on `planner.events`.
CREATE TABLE plan_log (
    plan_id UUID        NOT NULL REFERENCES plans (plan_id),
    seq     BIGINT      NOT NULL,
    kind    TEXT        NOT NULL,
    detail  JSONB       NOT NULL,
    at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, seq)
);

-- Sagas a plan's steps start (checkouts, generations), followed on
-- `orchestrator.events`.
CREATE TABLE plan_children (
    saga_id      UUID        PRIMARY KEY,
    plan_id      UUID        NOT NULL REFERENCES plans (plan_id),
    step         INTEGER     NOT NULL,
    step_name    TEXT        NOT NULL,
    definition   TEXT        NOT NULL,
    -- Set when the step's start command was emitted.
    requested_at TIMESTAMPTZ,
    -- The child's latest status and the seq it was seen at.
    status       TEXT,
    last_seq     BIGINT      NOT NULL DEFAULT 0,
    failure      TEXT,
    -- A generation's final document, once exported.
    document_id  UUID,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX plan_children_plan ON plan_children (plan_id);

-- Who owns what, learnt from events (never from another service's API): sagas
-- from their `started` progress event, applications from `ApplicationStatusChanged`.
CREATE TABLE known_sagas (
    saga_id    UUID        PRIMARY KEY,
    definition TEXT        NOT NULL,
    tenant_id  TEXT        NOT NULL,
    user_id    TEXT        NOT NULL,
    seen_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE known_applications (
    application_id UUID        PRIMARY KEY,
    tenant_id      TEXT        NOT NULL,
    user_id        TEXT        NOT NULL,
    status         TEXT        NOT NULL,
    seen_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What a plan charges per SKU.
CREATE TABLE catalog_prices (
    sku              TEXT        PRIMARY KEY,
    unit_price_minor BIGINT      NOT NULL CHECK (unit_price_minor >= 0),
    currency         TEXT        NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
