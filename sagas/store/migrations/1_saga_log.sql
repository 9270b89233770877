-- The orchestrator's saga store: an append-only event log per saga, a row per saga
-- with its folded state (a snapshot, always reproducible by replaying the log),
-- and durable timers.

CREATE TABLE sagas (
    saga_id        UUID        PRIMARY KEY,
    definition     TEXT        NOT NULL,
    version        INTEGER     NOT NULL,
    tenant_id      TEXT        NOT NULL,
    correlation_id UUID        NOT NULL,
    traceparent    TEXT,
    status         TEXT        NOT NULL,
    paused         BOOLEAN     NOT NULL DEFAULT false,
    seq            BIGINT      NOT NULL,
    state          JSONB       NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- "Which sagas are stuck?": by status, oldest update first.
CREATE INDEX sagas_status_updated ON sagas (status, updated_at);
CREATE INDEX sagas_definition_version ON sagas (definition, version) WHERE status IN ('running', 'compensating');

CREATE TABLE saga_events (
    saga_id     UUID        NOT NULL REFERENCES sagas (saga_id),
    seq         BIGINT      NOT NULL,
    kind        TEXT        NOT NULL,
    event       JSONB       NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Optimistic concurrency: two writers appending the same seq cannot both commit.
    PRIMARY KEY (saga_id, seq)
);

CREATE TABLE saga_timeouts (
    saga_id UUID        NOT NULL REFERENCES sagas (saga_id),
    step    INTEGER     NOT NULL,
    phase   TEXT        NOT NULL,
    attempt INTEGER     NOT NULL,
    fire_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (saga_id, step, phase, attempt)
);

CREATE INDEX saga_timeouts_due ON saga_timeouts (fire_at);
