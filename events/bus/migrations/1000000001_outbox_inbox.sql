-- Messaging core tables, shared by every service database (sagaflow-bus).
-- Versions of this crate's migrations start at 1000000000 so that a service's own
-- migrations (1, 2, 3, ...) never collide with them in _sqlx_migrations.

CREATE TABLE IF NOT EXISTS sagaflow_outbox (
    id            BIGSERIAL PRIMARY KEY,
    message_id    UUID        NOT NULL UNIQUE,
    topic         TEXT        NOT NULL,
    partition_key TEXT        NOT NULL,
    message_type  TEXT        NOT NULL,
    headers       JSONB       NOT NULL,
    payload       BYTEA       NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at       TIMESTAMPTZ,
    attempts      INTEGER     NOT NULL DEFAULT 0,
    last_error    TEXT
);

-- The relay only ever scans unsent rows, oldest first.
CREATE INDEX IF NOT EXISTS sagaflow_outbox_unsent ON sagaflow_outbox (id) WHERE sent_at IS NULL;

-- Wake the relay as soon as a transaction that wrote outbox rows commits.
CREATE OR REPLACE FUNCTION sagaflow_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sagaflow_outbox', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS sagaflow_outbox_notify ON sagaflow_outbox;
CREATE TRIGGER sagaflow_outbox_notify
    AFTER INSERT ON sagaflow_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION sagaflow_outbox_notify();

-- One row per handled message and consumer: the dedup key of the inbox.
CREATE TABLE IF NOT EXISTS sagaflow_inbox (
    consumer     TEXT        NOT NULL,
    message_id   UUID        NOT NULL,
    message_type TEXT        NOT NULL,
    topic        TEXT        NOT NULL,
    kafka_partition INTEGER  NOT NULL,
    kafka_offset BIGINT      NOT NULL,
    handled_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
