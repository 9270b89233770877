-- SagaProgressed v2 reports the saga's result (the order of a checkout, the
-- document of a generation) with each decision; the projection keeps it on the
-- decision's last entry, so a replay in seq order finds it where it arrived.
ALTER TABLE saga_progress ADD COLUMN IF NOT EXISTS result_id UUID;
-- The seq the stored result came with: an older one never replaces it, whatever
-- order messages arrive in.
ALTER TABLE checkouts ADD COLUMN IF NOT EXISTS result_seq BIGINT;
ALTER TABLE generations ADD COLUMN IF NOT EXISTS result_seq BIGINT;
