-- Issue #11: erasing a user's personal data from the saga log.
--
-- `saga_erasures` is the tombstone of an erased (tenant, user), naming the user by
-- `subject` (sha256 of `<len(tenant)>:<tenant>:<user>`, hex). `erased_sagas` lists
-- the sagas whose log is redacted. The triggers below keep them redacted: an event
-- appended later (a late reply) and every new snapshot of an erased saga are
-- redacted on the way in, and a saga of an erased user that started before the
-- erasure but reaches the log after it is erased as it is created. The structure
-- stays (ids, steps, statuses, times, quantities): only free text goes.

CREATE TABLE saga_erasures (
    tenant_id  TEXT        NOT NULL,
    subject    TEXT        NOT NULL,
    erased_at  TIMESTAMPTZ NOT NULL,
    erasure_id UUID,
    PRIMARY KEY (tenant_id, subject)
);

CREATE TABLE erased_sagas (
    saga_id   UUID        PRIMARY KEY REFERENCES sagas (saga_id),
    erased_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE FUNCTION sagaflow_subject(tenant_id TEXT, user_id TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(length(tenant_id)::TEXT || ':' || tenant_id || ':' || user_id, 'UTF8')), 'hex')
$$;

-- `value` with every string replaced by '[erased]' but those under a key that names
-- structure: `*_id`, `*_at`, and the closed sets below. Numbers and booleans stay.
CREATE FUNCTION sagaflow_redact(value JSONB, key TEXT) RETURNS JSONB
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    CASE jsonb_typeof(value)
    WHEN 'object' THEN
        RETURN COALESCE(
            (SELECT jsonb_object_agg(k, sagaflow_redact(v, k)) FROM jsonb_each(value) AS e (k, v)),
            '{}'::JSONB);
    WHEN 'array' THEN
        RETURN COALESCE(
            (SELECT jsonb_agg(sagaflow_redact(v, key) ORDER BY i)
             FROM jsonb_array_elements(value) WITH ORDINALITY AS a (v, i)),
            '[]'::JSONB);
    WHEN 'string' THEN
        IF key IS NOT NULL AND (key LIKE '%\_id' OR key LIKE '%\_at' OR key = ANY (ARRAY[
            'sku', 'currency', 'kind', 'template', 'status', 'definition', 'type', 'step',
            'step_name', 'message_type', 'reply_type', 'phase', 'channel', 'deadline', 'at',
            'format', 'provider', 'model'])) THEN
            RETURN value;
        END IF;
        RETURN to_jsonb('[erased]'::TEXT);
    ELSE
        RETURN value;
    END CASE;
END
$$;

-- A log entry without its personal data: the saga's input, a reply and a reason.
CREATE FUNCTION sagaflow_redact_event(event JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(jsonb_object_agg(k, CASE
               WHEN k IN ('input', 'reply') THEN sagaflow_redact(v, NULL)
               WHEN k IN ('reason', 'detail', 'error') AND jsonb_typeof(v) = 'string'
                   THEN to_jsonb('[erased]'::TEXT)
               ELSE v END), '{}'::JSONB)
    FROM jsonb_each(event) AS e (k, v)
$$;

-- A snapshot without its personal data: the input, the step results, the failure.
CREATE FUNCTION sagaflow_redact_state(state JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE AS $$
    SELECT state
        || CASE WHEN jsonb_typeof(state->'data') = 'object' THEN jsonb_build_object('data',
               (state->'data')
               || CASE WHEN state->'data' ? 'input'
                      THEN jsonb_build_object('input', sagaflow_redact(state->'data'->'input', NULL))
                      ELSE '{}'::JSONB END
               || CASE WHEN state->'data' ? 'results'
                      THEN jsonb_build_object('results', sagaflow_redact(state->'data'->'results', NULL))
                      ELSE '{}'::JSONB END)
           ELSE '{}'::JSONB END
        || CASE WHEN jsonb_typeof(state->'failure') = 'string'
               THEN jsonb_build_object('failure', '[erased]') ELSE '{}'::JSONB END
$$;

-- The time in a UUIDv7 (its first 48 bits, milliseconds); NULL for other versions.
CREATE FUNCTION sagaflow_uuid_time(id UUID) RETURNS TIMESTAMPTZ
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN substr(id::TEXT, 15, 1) = '7'
        THEN to_timestamp((('x' || substr(replace(id::TEXT, '-', ''), 1, 12))::BIT(48)::BIGINT) / 1000.0)
    END
$$;

CREATE FUNCTION sagaflow_sagas_erased() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND EXISTS (
        SELECT 1 FROM saga_erasures
        WHERE tenant_id = NEW.tenant_id
          AND subject = sagaflow_subject(NEW.tenant_id, NEW.state->'data'->'input'->>'user_id')
          AND COALESCE(sagaflow_uuid_time(NEW.saga_id), '-infinity') <= erased_at)
    THEN
        NEW.state := sagaflow_redact_state(NEW.state);
        -- The row exists once this trigger returns; the FK is checked at the end.
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM erased_sagas WHERE saga_id = NEW.saga_id) THEN
        NEW.state := sagaflow_redact_state(NEW.state);
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION sagaflow_sagas_erased_after() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM saga_erasures
        WHERE tenant_id = NEW.tenant_id
          AND subject = sagaflow_subject(NEW.tenant_id, NEW.state->'data'->'input'->>'user_id')
          AND COALESCE(sagaflow_uuid_time(NEW.saga_id), '-infinity') <= erased_at)
    THEN
        INSERT INTO erased_sagas (saga_id) VALUES (NEW.saga_id) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION sagaflow_saga_events_erased() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM erased_sagas WHERE saga_id = NEW.saga_id) THEN
        NEW.event := sagaflow_redact_event(NEW.event);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER sagas_erased BEFORE INSERT OR UPDATE OF state ON sagas
    FOR EACH ROW EXECUTE FUNCTION sagaflow_sagas_erased();
CREATE TRIGGER sagas_erased_after AFTER INSERT ON sagas
    FOR EACH ROW EXECUTE FUNCTION sagaflow_sagas_erased_after();
CREATE TRIGGER saga_events_erased BEFORE INSERT OR UPDATE OF event ON saga_events
    FOR EACH ROW EXECUTE FUNCTION sagaflow_saga_events_erased();
