-- A cart belongs to one user for its whole life.
CREATE TABLE carts (
    cart_id    UUID        PRIMARY KEY,
    user_id    TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE cart_items (
    cart_id          UUID        NOT NULL REFERENCES carts (cart_id) ON DELETE CASCADE,
    sku              TEXT        NOT NULL,
    quantity         INTEGER     NOT NULL CHECK (quantity > 0),
    unit_price_minor BIGINT      NOT NULL CHECK (unit_price_minor >= 0),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (cart_id, sku)
);
