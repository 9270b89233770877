-- Candidates, by the user id the gateway gives.
CREATE TABLE users (
    user_id        TEXT        PRIMARY KEY,
    candidate_name TEXT        NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every distinct CV a user sent: a new version when the text changes.
CREATE TABLE cv_versions (
    user_id    TEXT        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    version    INT         NOT NULL CHECK (version >= 1),
    sha256     TEXT        NOT NULL,
    cv_text    TEXT        NOT NULL,
    skills     JSONB       NOT NULL DEFAULT '[]',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, version),
    UNIQUE (user_id, sha256)
);

-- A saga's working data, filled by AnalyseJob then CompileProfile.
CREATE TABLE generations (
    saga_id          UUID        PRIMARY KEY,
    user_id          TEXT        REFERENCES users (user_id) ON DELETE CASCADE,
    job_description  TEXT        NOT NULL DEFAULT '',
    job_title        TEXT        NOT NULL DEFAULT '',
    company          TEXT        NOT NULL DEFAULT '',
    seniority        TEXT        NOT NULL DEFAULT '',
    skills           JSONB       NOT NULL DEFAULT '[]',
    keywords         JSONB       NOT NULL DEFAULT '[]',
    analysis_failure TEXT,
    cv_version       INT,
    candidate_name   TEXT        NOT NULL DEFAULT '',
    cv_skills        JSONB       NOT NULL DEFAULT '[]',
    highlights       JSONB       NOT NULL DEFAULT '[]',
    match_percent    INT,
    profile_summary  TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One token reservation per saga. `released` with no user is a tombstone: a
-- ReleaseTokenBudget arrived before any GenerateDocument, so none may call the LLM.
-- `settled`: the document was exported and the unused rest given back.
CREATE TABLE token_budgets (
    saga_id    UUID        PRIMARY KEY,
    user_id    TEXT,
    reserved   BIGINT      NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    used       BIGINT      NOT NULL DEFAULT 0 CHECK (used >= 0),
    released   BIGINT      NOT NULL DEFAULT 0 CHECK (released >= 0),
    status     TEXT        NOT NULL CHECK (status IN ('reserved', 'released', 'settled')),
    reason     TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX token_budgets_user ON token_budgets (user_id);

-- LLM responses by sha256 of the normalised inputs (kind, facts, template, feedback).
CREATE TABLE llm_cache (
    cache_key   TEXT        PRIMARY KEY,
    user_id     TEXT,
    kind        TEXT        NOT NULL,
    content     TEXT        NOT NULL,
    provider    TEXT        NOT NULL,
    model       TEXT        NOT NULL,
    offline     BOOLEAN     NOT NULL,
    hits        BIGINT      NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX llm_cache_user ON llm_cache (user_id);

-- Drafts and final documents.
--   draft: generated; validated: passed validation; final: exported; void: discarded.
-- `request_key` makes a repeated command return the same document
-- (`generate:<kind>:<attempt>` or `regenerate:<document id>`).
CREATE TABLE documents (
    document_id      UUID        PRIMARY KEY,
    saga_id          UUID        NOT NULL,
    user_id          TEXT,
    kind             TEXT        NOT NULL,
    request_key      TEXT        NOT NULL,
    template         TEXT,
    content          TEXT        NOT NULL,
    provider         TEXT        NOT NULL,
    tokens           BIGINT      NOT NULL DEFAULT 0,
    offline          BOOLEAN     NOT NULL DEFAULT false,
    cached           BOOLEAN     NOT NULL DEFAULT false,
    status           TEXT        NOT NULL CHECK (status IN ('draft', 'validated', 'final', 'void')),
    keyword_coverage INT,
    ats_score        INT,
    validation       JSONB,
    void_reason      TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (saga_id, request_key)
);
CREATE INDEX documents_user ON documents (user_id);

-- One row per LLM call (cache hits make none).
CREATE TABLE llm_calls (
    id            BIGSERIAL   PRIMARY KEY,
    saga_id       UUID        NOT NULL,
    document_id   UUID,
    user_id       TEXT,
    provider      TEXT        NOT NULL,
    model         TEXT        NOT NULL,
    input_tokens  BIGINT      NOT NULL,
    output_tokens BIGINT      NOT NULL,
    cost_micros   BIGINT      NOT NULL,
    offline       BOOLEAN     NOT NULL,
    attempts      JSONB       NOT NULL DEFAULT '[]',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX llm_calls_saga ON llm_calls (saga_id);
CREATE INDEX llm_calls_user ON llm_calls (user_id);

-- Exported renderings.
CREATE TABLE document_files (
    document_id  UUID        NOT NULL REFERENCES documents (document_id) ON DELETE CASCADE,
    format       TEXT        NOT NULL CHECK (format IN ('md', 'html', 'pdf')),
    content_type TEXT        NOT NULL,
    bytes        BYTEA       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, format)
);
