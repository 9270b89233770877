-- Issue #11: a saga of a user created while that user is being erased (its start
-- and the erasure in concurrent transactions) must be redacted too. Both now take
-- the (tenant, user)'s advisory lock: the erasure exclusively (`erase.rs`), a new
-- saga shared, in the trigger below, before it looks for a tombstone. Whichever
-- commits second sees the other's rows.

CREATE FUNCTION sagaflow_erasure_lock_key(tenant_id TEXT, user_id TEXT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE AS $$
    SELECT hashtextextended('saga-erasure:' || length(tenant_id)::TEXT || ':' || tenant_id || ':' || user_id, 0)
$$;

CREATE OR REPLACE FUNCTION sagaflow_sagas_erased() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_advisory_xact_lock_shared(sagaflow_erasure_lock_key(
            NEW.tenant_id, COALESCE(NEW.state->'data'->'input'->>'user_id', '')));
        IF EXISTS (
            SELECT 1 FROM saga_erasures
            WHERE tenant_id = NEW.tenant_id
              AND subject = sagaflow_subject(NEW.tenant_id, NEW.state->'data'->'input'->>'user_id')
              AND COALESCE(sagaflow_uuid_time(NEW.saga_id), '-infinity') <= erased_at)
        THEN
            NEW.state := sagaflow_redact_state(NEW.state);
            RETURN NEW;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM erased_sagas WHERE saga_id = NEW.saga_id) THEN
        NEW.state := sagaflow_redact_state(NEW.state);
    END IF;
    RETURN NEW;
END
$$;
