-- What each channel sent: one row per notification id (the idempotency key).
CREATE TABLE sent_notifications (
    notification_id UUID        PRIMARY KEY,
    channel         TEXT        NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    recipient       TEXT        NOT NULL CHECK (btrim(recipient) <> ''),
    subject         TEXT        NOT NULL,
    body            TEXT        NOT NULL,
    saga_id         UUID,
    sent_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sent_notifications_saga ON sent_notifications (saga_id) WHERE saga_id IS NOT NULL;
