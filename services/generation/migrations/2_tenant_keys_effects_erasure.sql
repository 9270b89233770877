-- Issue #11: every row of user data keyed by (tenant_id, user_id); LLM completions
-- called outside the inbox transaction and recorded; erasure tombstones.
--
-- The tenant of a Kafka command is its envelope's; of an HTTP request, the caller's
-- identity. Rows written before this migration belong to tenant '' (no caller has
-- that tenant, so they are unreachable until erased).

-- Users: one per (tenant, user); the same user id in two tenants is two users.
ALTER TABLE cv_versions DROP CONSTRAINT cv_versions_user_id_fkey;
ALTER TABLE generations DROP CONSTRAINT generations_user_id_fkey;
ALTER TABLE users ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE users DROP CONSTRAINT users_pkey;
ALTER TABLE users ADD PRIMARY KEY (tenant_id, user_id);

ALTER TABLE cv_versions ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE cv_versions ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE cv_versions DROP CONSTRAINT cv_versions_pkey;
ALTER TABLE cv_versions ADD PRIMARY KEY (tenant_id, user_id, version);
ALTER TABLE cv_versions DROP CONSTRAINT cv_versions_user_id_sha256_key;
ALTER TABLE cv_versions ADD UNIQUE (tenant_id, user_id, sha256);
ALTER TABLE cv_versions ADD FOREIGN KEY (tenant_id, user_id)
    REFERENCES users (tenant_id, user_id) ON DELETE CASCADE;

-- A saga's working data: the tenant from AnalyseJob's (or CompileProfile's) envelope;
-- a command of another tenant never sees the saga.
ALTER TABLE generations ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE generations ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE generations ADD FOREIGN KEY (tenant_id, user_id)
    REFERENCES users (tenant_id, user_id) ON DELETE CASCADE;
CREATE INDEX generations_tenant_user ON generations (tenant_id, user_id);

ALTER TABLE token_budgets ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE token_budgets ALTER COLUMN tenant_id DROP DEFAULT;
DROP INDEX token_budgets_user;
CREATE INDEX token_budgets_tenant_user ON token_budgets (tenant_id, user_id);

-- The cache key now hashes the tenant and the user in too: one user's answers are
-- never served to another.
ALTER TABLE llm_cache ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE llm_cache ALTER COLUMN tenant_id DROP DEFAULT;
DROP INDEX llm_cache_user;
CREATE INDEX llm_cache_tenant_user ON llm_cache (tenant_id, user_id);

ALTER TABLE documents ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ALTER COLUMN tenant_id DROP DEFAULT;
DROP INDEX documents_user;
CREATE INDEX documents_tenant_user ON documents (tenant_id, user_id);

-- One row per completion recorded: `idempotency_key` (the completion's, see
-- `llm_completions`) makes a second record of the same completion impossible, so
-- its tokens and cost are counted once. `user_id` is NULL when the user was erased
-- while the call was in flight (the cost stays, the person does not).
ALTER TABLE llm_calls ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE llm_calls ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE llm_calls ADD COLUMN idempotency_key TEXT UNIQUE;
DROP INDEX llm_calls_user;
CREATE INDEX llm_calls_tenant_user ON llm_calls (tenant_id, user_id);

-- The LLM completion of one draft, per (saga, request key), written by the handler's
-- `prepare` OUTSIDE the inbox transaction; `handle` only reads it.
--   pending:   claimed (budget reserved); the provider was, or is being, asked under
--              `idempotency_key` and its answer is not recorded yet (a crash between
--              the call and the record leaves it so: the next delivery asks again with
--              the same key, and records once);
--   completed: the provider's answer (`content`, tokens, cost) is recorded;
--   failed:    every provider failed (`reason`);
--   cached:    answered from `llm_cache` (`content`), no call.
-- A draft the budget refuses is not claimed (no row): `handle` replies with the
-- refusal, and a retry looks at the budget again.
CREATE TABLE llm_completions (
    saga_id         UUID        NOT NULL,
    request_key     TEXT        NOT NULL,
    tenant_id       TEXT        NOT NULL,
    user_id         TEXT        NOT NULL,
    idempotency_key TEXT        NOT NULL UNIQUE,
    status          TEXT        NOT NULL
                    CHECK (status IN ('pending', 'completed', 'failed', 'cached')),
    request         JSONB,
    content         TEXT,
    provider        TEXT,
    model           TEXT,
    input_tokens    BIGINT      NOT NULL DEFAULT 0,
    output_tokens   BIGINT      NOT NULL DEFAULT 0,
    cost_micros     BIGINT      NOT NULL DEFAULT 0,
    offline         BOOLEAN     NOT NULL DEFAULT false,
    reason          TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (saga_id, request_key)
);
CREATE INDEX llm_completions_tenant_user ON llm_completions (tenant_id, user_id);

-- Erasure tombstones. The user is named only by `subject` = sha256 of
-- "<tenant>\0<user>" (hex): no personal data is kept, yet a late command of the
-- user can be recognised. A command for a saga of that user whose saga id (UUIDv7)
-- is not later than `erased_at` is refused and stores nothing; a saga started after
-- the erasure is a new one.
CREATE TABLE erasures (
    tenant_id   TEXT        NOT NULL,
    subject     TEXT        NOT NULL,
    erased_at   TIMESTAMPTZ NOT NULL,
    erasure_id  UUID,
    PRIMARY KEY (tenant_id, subject)
);

-- Sagas whose data an erasure deleted: any late command for them (those that carry
-- no user id too) is refused and stores nothing.
CREATE TABLE erased_sagas (
    saga_id   UUID        PRIMARY KEY,
    tenant_id TEXT        NOT NULL,
    erased_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
