-- Parked outbox rows and inbox retention (sagaflow-bus).
--
-- A row the relay cannot publish (it failed OUTBOX_MAX_ATTEMPTS times, or the broker
-- can never take it: too large, unknown topic) is parked: `parked_at` and
-- `last_error` say when and why. The relay never sends a parked row again on its own,
-- and holds back the later rows of the same (topic, partition_key) until an operator
-- unparks or purges it (`sagaflow_bus::outbox::{unpark, purge_parked}`).

ALTER TABLE sagaflow_outbox ADD COLUMN IF NOT EXISTS parked_at TIMESTAMPTZ;

-- Parked rows are few: the relay looks them up by key to hold back later rows.
CREATE INDEX IF NOT EXISTS sagaflow_outbox_parked
    ON sagaflow_outbox (topic, partition_key, id) WHERE parked_at IS NOT NULL;

-- The relay deletes inbox rows older than INBOX_RETENTION_SECS, oldest first, in
-- bounded rounds. `handled_at` already defaults to now(), so inserts are unchanged.
CREATE INDEX IF NOT EXISTS sagaflow_inbox_handled_at ON sagaflow_inbox (handled_at);
