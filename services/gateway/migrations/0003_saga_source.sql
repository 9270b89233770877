-- Sagas started by another producer (the planner, for the assistant): the
-- projection inserts their checkouts / generations row from the InitiateCheckout /
-- InitiateGeneration it reads on orchestrator.commands. `source` says where a row
-- came from: `gateway` (POST /v1/checkouts, /v1/generations; the default, so the
-- existing rows and inserts keep their meaning) or `assistant`.
--
-- saga_progress now keeps the progress of every saga, also before (or without)
-- its row; the routes only show it through a row the caller may see.
ALTER TABLE checkouts
    ADD COLUMN IF NOT EXISTS source TEXT NOT NULL DEFAULT 'gateway'
        CHECK (source IN ('gateway', 'assistant'));

ALTER TABLE generations
    ADD COLUMN IF NOT EXISTS source TEXT NOT NULL DEFAULT 'gateway'
        CHECK (source IN ('gateway', 'assistant'));
