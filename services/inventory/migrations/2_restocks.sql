-- After-sale restocks (`RestockOrder`): a placed order's stock goes back to `stock`,
-- once. One row per restock saga (the primary key: the idempotency key of the
-- command), holding what it put back, so a redelivery replies the same `items` and
-- restocks nothing again.
--   `items` non-empty: this saga released the checkout saga's reservation
--                      (`reservations.status` `reserved` → `released`, in the same
--                      transaction) and added `items` back to `stock.available`;
--   `items` empty:     nothing to restock: the checkout's reservation was unknown,
--                      never taken, or released already (by its compensation or by
--                      another restock saga).
-- A restock locks the reservation's row (`SELECT ... FOR UPDATE`), so two sagas
-- restocking one checkout at once restock it once; the partial unique index makes
-- it a database fact.
CREATE TABLE restocks (
    saga_id          UUID        PRIMARY KEY,
    -- The checkout saga whose reservation was to go back to stock.
    checkout_saga_id UUID        NOT NULL,
    items            JSONB       NOT NULL DEFAULT '[]',
    reason           TEXT        NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX restocks_once_per_checkout ON restocks (checkout_saga_id)
    WHERE items <> '[]'::jsonb;
