-- Payments call the provider outside the inbox transaction (`PaymentHandler::prepare`),
-- so a saga's row now also records a charge in flight.
--
-- `payments.status` (one row per saga, the primary key):
--   pending:  claimed by a ProcessPayment; the provider was (or is being) asked to
--             charge under `charge_key`, and its answer is not recorded yet (a crash
--             between the call and the record leaves it so; the next delivery asks
--             again with the same key and gets the same answer, never a second charge);
--   captured: authorized and captured by the provider (`payment_id` set);
--   declined: the provider refused, or the command was invalid; `reason` says why;
--             nothing was charged;
--   refunded: captured, then refunded through the provider (see `refunds`);
--   voided:   a compensation arrived before any charge was recorded (a tombstone): a
--             late ProcessPayment for this saga is refused and never charges. When
--             `charge_key` is set, a charge was pending when the void arrived: the
--             compensation cancels that key at the provider (a charge not yet made is
--             then refused by the provider itself) and, if the charge had gone
--             through, refunds it; so does the ProcessPayment that finds its charge
--             voided. Both refund under the same key: never two refunds.
-- `handle` (in the inbox transaction) only reads this row and replies.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'captured', 'declined', 'refunded', 'voided'));
-- The provider's idempotency key of the saga's charge; NULL when no charge was ever
-- attempted (a plain tombstone, an invalid command, or a row from before this column).
ALTER TABLE payments ADD COLUMN charge_key TEXT;

-- The simulated payment provider's OWN ledger. It stands in for an external system
-- (a Stripe-like API): only `provider.rs` writes it, each call in its own autocommit
-- statements on the pool, never inside the service's transaction. It lives in this
-- database only so the simulation needs no other server.
CREATE SCHEMA sim_provider;

-- One row per idempotency key: the same key always gets the same answer. `reference`
-- is the merchant's reference (here the saga id), as metadata on a real provider: it
-- lets an operator (and the tests) count every charge of a saga whatever its key.
--   captured:  charged (`payment_id` set);
--   declined:  refused (`decline_reason`); remembered, so a retry is refused too;
--   cancelled: the key was cancelled before any charge: a charge under it is refused.
CREATE TABLE sim_provider.charges (
    idempotency_key TEXT        PRIMARY KEY,
    reference       TEXT        NOT NULL,
    payment_id      UUID        UNIQUE,
    status          TEXT        NOT NULL CHECK (status IN ('captured', 'declined', 'cancelled')),
    amount_minor    BIGINT      NOT NULL,
    currency        TEXT        NOT NULL,
    decline_reason  TEXT,
    -- Charge requests made under the key (a replay answers from the row and counts
    -- here, like Stripe's `Idempotent-Replayed`); 0 for a key cancelled unused.
    requests        INT         NOT NULL DEFAULT 1,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((status = 'captured') = (payment_id IS NOT NULL))
);
CREATE INDEX sim_provider_charges_reference ON sim_provider.charges (reference);

-- Refunds, keyed by their own idempotency key; at most one refund per charge.
CREATE TABLE sim_provider.refunds (
    idempotency_key TEXT        PRIMARY KEY,
    refund_id       UUID        NOT NULL UNIQUE,
    payment_id      UUID        NOT NULL UNIQUE REFERENCES sim_provider.charges (payment_id),
    amount_minor    BIGINT      NOT NULL,
    -- Refund requests made under the key (replays included).
    requests        INT         NOT NULL DEFAULT 1,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
