-- Issue #11: one row per erased (tenant, user), naming the user only by `subject`
-- (sha256 of `<len(tenant)>:<tenant>:<user>`, hex). The user's applications,
-- interviews, notes, status history, attached documents and preferences are
-- deleted; a command of a saga started before `erased_at` is refused.
CREATE TABLE application_erasures (
    tenant_id  TEXT        NOT NULL,
    subject    TEXT        NOT NULL,
    erased_at  TIMESTAMPTZ NOT NULL,
    erasure_id UUID,
    PRIMARY KEY (tenant_id, subject)
);
