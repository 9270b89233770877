-- Issue #11: every cart row keyed by (tenant_id, user_id); lines hold no price
-- (prices come from the catalogue at checkout); ClearCart takes out only the lines
-- bought, once per saga; erasure tombstones.
--
-- A cart is found by (tenant, user, cart id): the same cart id of another user or
-- tenant is another cart, so knowing an id reaches nothing. Rows written before
-- this migration belong to tenant '' (no caller has that tenant).

ALTER TABLE cart_items DROP CONSTRAINT cart_items_cart_id_fkey;

ALTER TABLE carts ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE carts ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE carts DROP CONSTRAINT carts_pkey;
ALTER TABLE carts ADD PRIMARY KEY (tenant_id, user_id, cart_id);

ALTER TABLE cart_items ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE cart_items ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE cart_items ADD COLUMN user_id TEXT;
UPDATE cart_items i SET user_id = c.user_id FROM carts c WHERE c.cart_id = i.cart_id;
DELETE FROM cart_items WHERE user_id IS NULL;
ALTER TABLE cart_items ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE cart_items DROP CONSTRAINT cart_items_pkey;
ALTER TABLE cart_items ADD PRIMARY KEY (tenant_id, user_id, cart_id, sku);
ALTER TABLE cart_items ADD FOREIGN KEY (tenant_id, user_id, cart_id)
    REFERENCES carts (tenant_id, user_id, cart_id) ON DELETE CASCADE;
ALTER TABLE cart_items DROP COLUMN unit_price_minor;

-- A saga's addition, per (tenant, saga); the owner is the command's user.
ALTER TABLE cart_saga_items ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE cart_saga_items ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE cart_saga_items ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE cart_saga_items ALTER COLUMN user_id DROP DEFAULT;
UPDATE cart_saga_items s SET user_id = c.user_id FROM carts c WHERE c.cart_id = s.cart_id;
ALTER TABLE cart_saga_items DROP CONSTRAINT cart_saga_items_pkey;
ALTER TABLE cart_saga_items ADD PRIMARY KEY (tenant_id, saga_id);
CREATE INDEX cart_saga_items_owner ON cart_saga_items (tenant_id, user_id);

-- One row per checkout saga whose ClearCart was applied: a redelivery removes
-- nothing more.
CREATE TABLE cart_clears (
    tenant_id  TEXT        NOT NULL,
    saga_id    UUID        NOT NULL,
    user_id    TEXT        NOT NULL,
    cart_id    UUID        NOT NULL,
    -- Units taken out, over all lines.
    removed    BIGINT      NOT NULL,
    cleared_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, saga_id)
);
CREATE INDEX cart_clears_owner ON cart_clears (tenant_id, user_id);

-- One row per erased (tenant, user), naming the user only by `subject`
-- (sha256 of `<len(tenant)>:<tenant>:<user>`, hex): a command of a saga started before
-- `erased_at` is refused and stores nothing.
CREATE TABLE cart_erasures (
    tenant_id  TEXT        NOT NULL,
    subject    TEXT        NOT NULL,
    erased_at  TIMESTAMPTZ NOT NULL,
    erasure_id UUID,
    PRIMARY KEY (tenant_id, subject)
);
