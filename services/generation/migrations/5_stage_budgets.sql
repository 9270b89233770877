-- Token budgets per stage a user keeps: the most output tokens one LLM call of the
-- generation stage, and of the validation stage's regeneration, may ask for (below
-- GENERATION_MAX_TOKENS_PER_CALL; NULL: that limit). Erased with the user.
CREATE TABLE stage_budgets (
    tenant_id         TEXT        NOT NULL,
    user_id           TEXT        NOT NULL,
    generate_tokens   INT         CHECK (generate_tokens BETWEEN 16 AND 200000),
    regenerate_tokens INT         CHECK (regenerate_tokens BETWEEN 16 AND 200000),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
