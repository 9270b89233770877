-- Prompt templates a user keeps per document kind; a generation without a template
-- of its own uses the user's (see src/templates.rs). Erased with the user.
CREATE TABLE prompt_templates (
    tenant_id  TEXT        NOT NULL,
    user_id    TEXT        NOT NULL,
    kind       TEXT        NOT NULL CHECK (kind IN ('cover_letter', 'resume', 'interview_prep')),
    template   TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, kind)
);
