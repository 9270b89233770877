-- Who a notification was for (tenant, user), so an erasure can blank what was
-- sent to them; null for notifications to no user (the HTTP API, old rows).
ALTER TABLE sent_notifications ADD COLUMN tenant_id TEXT;
ALTER TABLE sent_notifications ADD COLUMN user_id TEXT;
CREATE INDEX sent_notifications_owner ON sent_notifications (tenant_id, user_id)
    WHERE user_id IS NOT NULL;

-- One row per erased (tenant, user), naming the user only by `subject`
-- (sha256 of `<len(tenant)>:<tenant>:<user>`, hex): a notification of a saga
-- started before `erased_at` is suppressed (acknowledged, nothing stored).
CREATE TABLE notification_erasures (
    tenant_id  TEXT        NOT NULL,
    subject    TEXT        NOT NULL,
    erased_at  TIMESTAMPTZ NOT NULL,
    erasure_id UUID,
    PRIMARY KEY (tenant_id, subject)
);
