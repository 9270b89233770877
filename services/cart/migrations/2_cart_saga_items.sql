-- What each saga did to a cart (AddCartItem / RemoveCartItem, sent by the planner):
-- one row per saga makes both commands idempotent, and a RemoveCartItem that
-- arrives before its AddCartItem leaves a `removed` tombstone so the late add is
-- refused and adds nothing.
CREATE TABLE cart_saga_items (
    saga_id          UUID        PRIMARY KEY,
    cart_id          UUID        NOT NULL,
    sku              TEXT        NOT NULL,
    state            TEXT        NOT NULL CHECK (state IN ('added', 'refused', 'removed')),
    -- Units the saga added (0 when refused or tombstoned).
    quantity_added   INTEGER     NOT NULL DEFAULT 0,
    -- The line's quantity right after the addition (repeated in a repeated reply).
    line_quantity    INTEGER     NOT NULL DEFAULT 0,
    -- Units the compensation took back.
    quantity_removed INTEGER     NOT NULL DEFAULT 0,
    -- Why the addition was refused.
    reason           TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
