-- The simulated provider refunds a charge in parts, as a real one does: several
-- refunds per charge (`2_pending_and_sim_provider.sql` allowed one, of all of it),
-- each under its own idempotency key with its own amount, never more than the
-- charge in total.
--
-- `sim_provider.refunds` (one row per idempotency key, the primary key): a refund
-- made, of `amount_minor` of the charge `payment_id`. The same key replays the same
-- refund (counted in `requests`), never a second one. The provider decides one
-- refund of a charge at a time (it locks the charge's row) and declines a refund
-- above what is left unrefunded (the charge less the sum of its refunds); a decline
-- is an answer, not a row: nothing was refunded. A whole refund (the checkout's
-- compensation) refunds what is left.
ALTER TABLE sim_provider.refunds DROP CONSTRAINT refunds_payment_id_key;
CREATE INDEX sim_provider_refunds_payment ON sim_provider.refunds (payment_id);
