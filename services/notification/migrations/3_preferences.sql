-- Which channels a user accepts, per (tenant, user, channel). No row: accepted
-- (the default). Written by PUT /preferences, read by every send to a user.
CREATE TABLE notification_preferences (
    tenant_id  TEXT        NOT NULL,
    user_id    TEXT        NOT NULL,
    channel    TEXT        NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    accepted   BOOLEAN     NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, channel)
);

-- A notification not sent because its user turned its channel off: one row per
-- notification id (the decision is taken once), with the reason. No recipient,
-- subject or body is kept; an erasure clears `user_id`.
CREATE TABLE skipped_notifications (
    notification_id UUID        PRIMARY KEY,
    channel         TEXT        NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    reason          TEXT        NOT NULL,
    saga_id         UUID,
    tenant_id       TEXT        NOT NULL,
    user_id         TEXT,
    skipped_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX skipped_notifications_owner ON skipped_notifications (tenant_id, user_id)
    WHERE user_id IS NOT NULL;

-- Test notifications a user asked for (POST /notifications/test): one row per
-- (tenant, user, idempotency key), naming the notification it sent; the rows of
-- the last hour are the user's rate limit.
CREATE TABLE notification_tests (
    tenant_id       TEXT        NOT NULL,
    user_id         TEXT        NOT NULL,
    idempotency_key TEXT        NOT NULL,
    channel         TEXT        NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    notification_id UUID        NOT NULL,
    requested_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, user_id, idempotency_key)
);
CREATE INDEX notification_tests_recent ON notification_tests (tenant_id, user_id, requested_at);
