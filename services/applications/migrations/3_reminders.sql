-- Reminders: durable timers of the tracker. A follow-up reminder is set by the user
-- on an application; an interview reminder is kept in step with its interview (one
-- per interview, due a day before it). The scheduler (src/scheduler.rs) claims due
-- rows with FOR UPDATE SKIP LOCKED, writes a SendNotification to the outbox whose
-- notification_id is the reminder_id, and marks the row sent, in one transaction;
-- it also prunes rows done for longer than the retention.
CREATE TABLE reminders (
    reminder_id    UUID        PRIMARY KEY,
    tenant_id      TEXT        NOT NULL,
    user_id        TEXT        NOT NULL,
    application_id UUID        NOT NULL REFERENCES applications ON DELETE CASCADE,
    interview_id   UUID        UNIQUE REFERENCES interviews ON DELETE CASCADE,
    kind           TEXT        NOT NULL CHECK (kind IN ('follow_up', 'interview')),
    due_at         TIMESTAMPTZ NOT NULL,
    note           TEXT,
    status         TEXT        NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'sent', 'cancelled', 'parked')),
    -- Why it was parked.
    reason         TEXT,
    done_at        TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((kind = 'interview') = (interview_id IS NOT NULL))
);
CREATE INDEX reminders_due ON reminders (due_at) WHERE status = 'scheduled';
CREATE INDEX reminders_owner ON reminders (tenant_id, user_id, due_at);
CREATE INDEX reminders_application ON reminders (application_id, due_at);
CREATE INDEX reminders_done ON reminders (done_at) WHERE status <> 'scheduled';
