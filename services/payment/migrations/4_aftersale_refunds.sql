-- After-sale refunds (`RefundPayment`): part or all of a captured payment given back
-- after the sale, by an after-sale saga (not the checkout saga that charged it). A
-- payment can be refunded in several parts, by different sagas.
--
-- One row per after-sale saga: `saga_id` (the primary key) is the idempotency key of
-- the command; `refund_key` the provider's (`sagaflow-aftersale-refund-{saga_id}`),
-- so every delivery and retried attempt of the saga's command asks for one refund.
--   pending: claimed, `amount_minor` counts against what is left of the payment; the
--            provider is being asked to refund under `refund_key`, or was and the
--            answer was lost in a crash: the next delivery asks again with the same
--            key and records the provider's answer (never a second refund);
--   issued:  the provider refunded `amount_minor` (`refund_id` is its refund);
--   failed:  refused, nothing refunded, `failure` says why: an invalid command, a
--            payment unknown, not captured or in another currency, an amount above
--            what is left, or the provider's refusal. The amount no longer counts.
--            A redelivery gets the same refusal.
-- What is left of a payment: its captured amount less its `pending` and `issued`
-- rows here. A claim locks the `payments` row (`SELECT ... FOR UPDATE`) while it
-- checks and inserts, so two sagas refunding one payment at once never exceed it.
-- These refunds leave `payments.status` `captured`; the checkout's compensation
-- (`CompensatePayment`, table `refunds`) refunds what is left and marks it `refunded`.
-- `handle` (in the inbox transaction) only reads this row and replies.
CREATE TABLE aftersale_refunds (
    saga_id      UUID        PRIMARY KEY,
    -- The payment to refund as the command named it (unknown ones are `failed`).
    payment_id   UUID        NOT NULL,
    amount_minor BIGINT      NOT NULL,
    currency     TEXT        NOT NULL,
    status       TEXT        NOT NULL CHECK (status IN ('pending', 'issued', 'failed')),
    -- Why the customer is refunded (the command's reason).
    reason       TEXT        NOT NULL,
    -- NULL when refused before the provider was asked.
    refund_key   TEXT        UNIQUE,
    refund_id    UUID        UNIQUE,
    failure      TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (status = 'failed' OR (amount_minor > 0 AND refund_key IS NOT NULL)),
    CHECK ((status = 'issued') = (refund_id IS NOT NULL)),
    CHECK ((status = 'failed') = (failure IS NOT NULL))
);
CREATE INDEX aftersale_refunds_payment ON aftersale_refunds (payment_id)
    WHERE status IN ('pending', 'issued');
