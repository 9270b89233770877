-- The job-application tracker. Every row belongs to (tenant_id, user_id); the API
-- filters by both, so another tenant's or user's rows are invisible (404).

CREATE TABLE applications (
    application_id    UUID        PRIMARY KEY,
    tenant_id         TEXT        NOT NULL,
    user_id           TEXT        NOT NULL,
    company           TEXT        NOT NULL,
    role              TEXT        NOT NULL,
    job_description   TEXT        NOT NULL DEFAULT '',
    location          TEXT,
    remote            BOOLEAN     NOT NULL DEFAULT false,
    salary_min        BIGINT      CHECK (salary_min >= 0),
    salary_max        BIGINT      CHECK (salary_max >= 0),
    salary_currency   TEXT,
    stack             TEXT[]      NOT NULL DEFAULT '{}',
    status            TEXT        NOT NULL CHECK (status IN
                        ('saved', 'applied', 'interviewing', 'offer', 'accepted', 'rejected', 'withdrawn')),
    source_url        TEXT,
    notes             TEXT,
    applied_at        TIMESTAMPTZ,
    status_changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max)
);
CREATE INDEX applications_owner ON applications (tenant_id, user_id, updated_at DESC);

-- Every status an application entered (from_status NULL: created), for analytics.
CREATE TABLE status_changes (
    change_id      BIGSERIAL   PRIMARY KEY,
    application_id UUID        NOT NULL REFERENCES applications ON DELETE CASCADE,
    from_status    TEXT,
    to_status      TEXT        NOT NULL,
    changed_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX status_changes_application ON status_changes (application_id);

CREATE TABLE interviews (
    interview_id     UUID        PRIMARY KEY,
    application_id   UUID        NOT NULL REFERENCES applications ON DELETE CASCADE,
    kind             TEXT        NOT NULL CHECK (kind IN
                       ('phone_screen', 'technical', 'behavioral', 'onsite', 'final', 'other')),
    scheduled_at     TIMESTAMPTZ NOT NULL,
    duration_minutes INTEGER     CHECK (duration_minutes > 0),
    interviewer      TEXT,
    location         TEXT,
    notes            TEXT,
    outcome          TEXT        NOT NULL DEFAULT 'pending' CHECK (outcome IN
                       ('pending', 'passed', 'failed', 'cancelled')),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX interviews_application ON interviews (application_id, scheduled_at);

-- One row per user; absent = nothing set.
CREATE TABLE preferences (
    tenant_id       TEXT        NOT NULL,
    user_id         TEXT        NOT NULL,
    locations       TEXT[]      NOT NULL DEFAULT '{}',
    remote_ok       BOOLEAN     NOT NULL DEFAULT false,
    salary_target   BIGINT,
    salary_currency TEXT,
    preferred_stack TEXT[]      NOT NULL DEFAULT '{}',
    avoided_stack   TEXT[]      NOT NULL DEFAULT '{}',
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

-- Generations (documents) attached to an application. `saga_id` is the
-- AttachDocumentToApplication that created the link (NULL: through the API), so a
-- DetachDocumentFromApplication removes only what its own attach added.
CREATE TABLE application_documents (
    application_id UUID        NOT NULL REFERENCES applications ON DELETE CASCADE,
    generation_id  UUID        NOT NULL,
    saga_id        UUID,
    attached_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (application_id, generation_id)
);
CREATE INDEX application_documents_saga ON application_documents (saga_id) WHERE saga_id IS NOT NULL;

-- One row per attach/detach saga: the idempotency key of both commands.
--   attached: the attach succeeded (the link may have existed already);
--   failed:   the attach was refused, `reason` says why;
--   detached: compensated, or a detach came first (a tombstone) so that a late
--             attach is refused.
CREATE TABLE document_commands (
    saga_id        UUID        PRIMARY KEY,
    application_id UUID        NOT NULL,
    generation_id  UUID        NOT NULL,
    status         TEXT        NOT NULL CHECK (status IN ('attached', 'failed', 'detached')),
    reason         TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
