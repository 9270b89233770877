-- What the gateway's housekeeping prunes (src/housekeeping.rs) can be found
-- without scanning whole tables.

-- Whether the saga of a progress entry had its checkouts / generations row when
-- the entry was stored, or got it since (the projection keeps this up to date).
-- Entries never owned are progress of sagas the gateway never saw started; they
-- are pruned after GATEWAY_ORPHAN_PROGRESS_RETENTION_SECS. Existing entries are
-- owned unless their saga has no row.
ALTER TABLE saga_progress ADD COLUMN IF NOT EXISTS owned BOOLEAN NOT NULL DEFAULT true;

UPDATE saga_progress p SET owned = false
WHERE NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.checkout_id = p.saga_id)
  AND NOT EXISTS (SELECT 1 FROM generations g WHERE g.generation_id = p.saga_id);

ALTER TABLE saga_progress ALTER COLUMN owned SET DEFAULT false;

CREATE INDEX IF NOT EXISTS saga_progress_unowned
    ON saga_progress (projected_at) WHERE NOT owned;

-- erased_sagas is pruned after 30 days, oldest first.
CREATE INDEX IF NOT EXISTS erased_sagas_erased_at ON erased_sagas (erased_at);
