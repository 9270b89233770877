-- Document generations started through the gateway, their cancellation
-- requests, and saga_progress opened up to them.

-- One row per generation (POST /v1/generations). Like `checkouts`: `status` is
-- `pending` until the first SagaProgressed, then the saga status after the newest
-- event (`last_seq`). `kind` is the API form (`cover_letter` | `resume`);
-- `document_id` is the exported (else validated) document.
CREATE TABLE IF NOT EXISTS generations (
    generation_id UUID        PRIMARY KEY,
    tenant_id     TEXT        NOT NULL,
    user_id       TEXT        NOT NULL,
    kind          TEXT        NOT NULL,
    request       JSONB       NOT NULL,
    status        TEXT        NOT NULL DEFAULT 'pending',
    document_id   UUID,
    failure       JSONB,
    last_seq      BIGINT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS generations_owner ON generations (tenant_id, user_id, created_at DESC);

-- DELETE /v1/generations/{id}: one row per generation whose cancellation was
-- asked for. No message is sent yet: the orchestrator-side cancel command does
-- not exist in the contracts; `forwarded_at` is for whoever forwards these rows.
CREATE TABLE IF NOT EXISTS generation_cancellations (
    generation_id UUID        PRIMARY KEY REFERENCES generations (generation_id) ON DELETE CASCADE,
    tenant_id     TEXT        NOT NULL,
    user_id       TEXT        NOT NULL,
    requested_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    forwarded_at  TIMESTAMPTZ
);

CREATE INDEX IF NOT EXISTS generation_cancellations_unforwarded
    ON generation_cancellations (requested_at) WHERE forwarded_at IS NULL;

-- saga_progress now holds the log of checkouts and of generations, so its saga_id
-- can no longer reference checkouts alone. The projection only inserts rows for a
-- saga it found (and locked) in one of the two tables.
ALTER TABLE saga_progress DROP CONSTRAINT IF EXISTS saga_progress_saga_id_fkey;
