-- Issue #12: a timer whose firing fails for a reason that retrying will not cure
-- (the saga's state is unreadable, its definition version is not deployed, a
-- command does not encode, the saga is gone) is parked: it keeps its row, with
-- when and why, and is never picked again until an operator unparks it
-- (`timeouts::unpark`). Every other due timer keeps firing.

ALTER TABLE saga_timeouts
    ADD COLUMN parked_at   TIMESTAMPTZ,
    ADD COLUMN reason_kind TEXT,
    ADD COLUMN reason      TEXT,
    ADD CONSTRAINT saga_timeouts_parked_with_reason
        CHECK ((parked_at IS NULL) = (reason_kind IS NULL) AND (parked_at IS NULL) = (reason IS NULL));

-- Only live timers are looked for by due time; parked ones by when they parked.
DROP INDEX saga_timeouts_due;
CREATE INDEX saga_timeouts_due ON saga_timeouts (fire_at) WHERE parked_at IS NULL;
CREATE INDEX saga_timeouts_parked ON saga_timeouts (parked_at) WHERE parked_at IS NOT NULL;
