-- Sagas of users who erased their data (`DELETE /v1/me`): their late messages must
-- not bring the data back. A start seen afterwards (the gateway's own command, or
-- one from the assistant) is not adopted; progress is stored without its detail.
-- Pruned by the erasure route after 30 days (later messages are long gone).
CREATE TABLE erased_sagas (
    saga_id   UUID        PRIMARY KEY,
    erased_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
