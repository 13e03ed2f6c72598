-- Staff accounts, sign-in state, the audit trail, and row-level security
-- for everything so far.
--
-- Each request's transaction says who is acting with three settings, set by
-- portald with set_config(..., true) so they end with the transaction (and
-- are safe behind a pooler in transaction mode):
--   portal.role       'editor' | 'reviewer' | 'admin'; anything else, or
--                     nothing, is the anonymous public
--   portal.street_id  the editor's street
--   portal.user_id    the signed-in user
-- Policies read them through the functions below. RLS is forced on every
-- table, so even the owner obeys them; the only role that reads password
-- hashes and refresh tokens is portal_auth, through the auth_* functions.

CREATE FUNCTION portal_role() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT CASE current_setting('portal.role', true)
                 WHEN 'editor' THEN 'editor' WHEN 'reviewer' THEN 'reviewer'
                 WHEN 'admin' THEN 'admin' ELSE 'public' END $$;

CREATE FUNCTION portal_street_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN current_setting('portal.street_id', true) ~ '^[0-9]{1,18}$'
                 THEN current_setting('portal.street_id', true)::bigint END $$;

CREATE FUNCTION portal_user_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN current_setting('portal.user_id', true) ~ '^[0-9]{1,18}$'
                 THEN current_setting('portal.user_id', true)::bigint END $$;

GRANT EXECUTE ON FUNCTION portal_role(), portal_street_id(), portal_user_id() TO portal_app;

CREATE TABLE staff_users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,31}$'),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role          text NOT NULL CHECK (role IN ('editor', 'reviewer', 'admin')),
    street_id     bigint REFERENCES streets (id),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled      boolean NOT NULL DEFAULT false,
    -- bumped whenever role, street, password or disabled change: tokens
    -- carry it, and a token with an older one is refused at once
    token_version integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'editor') = (street_id IS NOT NULL))
);
CREATE INDEX staff_users_street_idx ON staff_users (street_id);

CREATE FUNCTION staff_users_touch() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    IF NEW.role IS DISTINCT FROM OLD.role OR NEW.street_id IS DISTINCT FROM OLD.street_id
       OR NEW.disabled IS DISTINCT FROM OLD.disabled
       OR NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
        NEW.token_version := OLD.token_version + 1;
    ELSE
        NEW.token_version := OLD.token_version;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER staff_users_touch BEFORE UPDATE ON staff_users
    FOR EACH ROW EXECUTE FUNCTION staff_users_touch();

-- Refresh tokens: only their SHA-256 is stored. Rotation marks the old one
-- used and issues the next in the same family; presenting a used or revoked
-- one revokes the whole family (someone else holds a copy).
CREATE TABLE refresh_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family        uuid NOT NULL,
    user_id       bigint NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    token_version integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family);
CREATE INDEX refresh_tokens_expiry_idx ON refresh_tokens (expires_at);

-- Failed sign-ins per account ('user:<name>') and per client address
-- ('addr:<ip>'), whether or not the account exists.
CREATE TABLE login_throttle (
    key             text PRIMARY KEY CHECK (length(key) <= 200),
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz,
    locked_until    timestamptz
);
CREATE INDEX login_throttle_age_idx ON login_throttle (last_failure_at);

-- Every change to places and accounts: who, when, what.
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint,
    actor      text NOT NULL,
    request_id text,
    entity     text NOT NULL,
    entity_id  bigint NOT NULL,
    action     text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    changes    jsonb NOT NULL
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);

-- Runs as the owner so the application role needs no INSERT on audit_log
-- and cannot write entries of its own making.
CREATE FUNCTION audit_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    diff    jsonb := '{}';
    k       text;
    actor   bigint := portal_user_id();
BEGIN
    FOR k IN SELECT jsonb_object_keys(coalesce(new_row, old_row)) LOOP
        CONTINUE WHEN k IN ('updated_at', 'token_version', 'created_at');
        IF TG_OP = 'UPDATE' AND (old_row -> k) IS NOT DISTINCT FROM (new_row -> k) THEN
            CONTINUE;
        END IF;
        IF k = 'password_hash' THEN
            diff := diff || jsonb_build_object(k, 'changed');
        ELSIF TG_OP = 'UPDATE' THEN
            diff := diff || jsonb_build_object(k, jsonb_build_array(old_row -> k, new_row -> k));
        ELSE
            diff := diff || jsonb_build_object(k, coalesce(new_row, old_row) -> k);
        END IF;
    END LOOP;
    IF TG_OP = 'UPDATE' AND diff = '{}' THEN
        RETURN NEW;
    END IF;
    INSERT INTO audit_log (actor_id, actor, request_id, entity, entity_id, action, changes)
    VALUES (actor,
            coalesce(nullif(current_setting('portal.actor', true), ''),
                     (SELECT username FROM staff_users WHERE id = actor), session_user),
            nullif(current_setting('portal.request_id', true), ''),
            TG_TABLE_NAME, (coalesce(new_row, old_row) ->> 'id')::bigint,
            lower(CASE TG_OP WHEN 'INSERT' THEN 'create' ELSE TG_OP END), diff);
    RETURN coalesce(NEW, OLD);
END $$;

CREATE TRIGGER streets_audit AFTER INSERT OR UPDATE OR DELETE ON streets
    FOR EACH ROW EXECUTE FUNCTION audit_change();
CREATE TRIGGER communities_audit AFTER INSERT OR UPDATE OR DELETE ON communities
    FOR EACH ROW EXECUTE FUNCTION audit_change();
CREATE TRIGGER staff_users_audit AFTER INSERT OR UPDATE OR DELETE ON staff_users
    FOR EACH ROW EXECUTE FUNCTION audit_change();

-- ---- row-level security ------------------------------------------------

ALTER TABLE districts ENABLE ROW LEVEL SECURITY;
ALTER TABLE districts FORCE ROW LEVEL SECURITY;
CREATE POLICY districts_read ON districts FOR SELECT USING (true);
CREATE POLICY districts_admin ON districts FOR INSERT WITH CHECK (portal_role() = 'admin');

-- Streets are public facts; only the district admin changes them.
ALTER TABLE streets ENABLE ROW LEVEL SECURITY;
ALTER TABLE streets FORCE ROW LEVEL SECURITY;
CREATE POLICY streets_read ON streets FOR SELECT USING (true);
CREATE POLICY streets_insert ON streets FOR INSERT WITH CHECK (portal_role() = 'admin');
CREATE POLICY streets_update ON streets FOR UPDATE
    USING (portal_role() = 'admin') WITH CHECK (portal_role() = 'admin');

-- An editor sees its own street's communities only; the district and the
-- public (who read published cases of any street) see all of them.
ALTER TABLE communities ENABLE ROW LEVEL SECURITY;
ALTER TABLE communities FORCE ROW LEVEL SECURITY;
CREATE POLICY communities_read ON communities FOR SELECT
    USING (portal_role() <> 'editor' OR street_id = portal_street_id());
CREATE POLICY communities_insert ON communities FOR INSERT WITH CHECK (portal_role() = 'admin');
CREATE POLICY communities_update ON communities FOR UPDATE
    USING (portal_role() = 'admin') WITH CHECK (portal_role() = 'admin');

ALTER TABLE staff_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE staff_users FORCE ROW LEVEL SECURITY;
CREATE POLICY staff_users_read ON staff_users FOR SELECT
    USING (portal_role() = 'admin' OR id = portal_user_id());
CREATE POLICY staff_users_insert ON staff_users FOR INSERT WITH CHECK (portal_role() = 'admin');
CREATE POLICY staff_users_update ON staff_users FOR UPDATE
    USING (portal_role() = 'admin') WITH CHECK (portal_role() = 'admin');
CREATE POLICY staff_users_auth ON staff_users FOR SELECT TO portal_auth USING (true);
-- the audit trigger names the actor
CREATE POLICY staff_users_owner_read ON staff_users FOR SELECT TO portal_owner USING (true);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT USING (portal_role() = 'admin');
CREATE POLICY audit_log_write ON audit_log FOR INSERT TO portal_owner WITH CHECK (true);

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY refresh_tokens_auth ON refresh_tokens TO portal_auth USING (true) WITH CHECK (true);

ALTER TABLE login_throttle ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_throttle FORCE ROW LEVEL SECURITY;
CREATE POLICY login_throttle_auth ON login_throttle TO portal_auth USING (true) WITH CHECK (true);

GRANT INSERT, UPDATE (name) ON streets TO portal_app;
GRANT INSERT, UPDATE (street_id, name, committee_elected_on, committee_size, secretary_name,
                      secretary_post) ON communities TO portal_app;
GRANT SELECT (id, username, display_name, role, street_id, disabled, created_at, updated_at)
    ON staff_users TO portal_app;
GRANT INSERT (username, display_name, role, street_id, password_hash),
      UPDATE (display_name, role, street_id, disabled, password_hash) ON staff_users TO portal_app;
GRANT SELECT ON audit_log TO portal_app;
GRANT SELECT ON staff_users TO portal_auth;
GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_tokens, login_throttle TO portal_auth;

-- ---- sign-in, as portal_auth ------------------------------------------

-- The account a sign-in names, or no row. Disabled accounts are returned so
-- the caller still spends a full password check on them.
CREATE FUNCTION auth_login_lookup(p_username text)
    RETURNS TABLE (user_id bigint, password_hash text, disabled boolean, token_version integer,
                   username text, role text, street_id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT id, password_hash, disabled, token_version, username, role, street_id
      FROM staff_users WHERE username = lower(p_username)
$$;

-- How long this sign-in must wait (0: go ahead), and whether that is a lock.
CREATE FUNCTION auth_login_gate(p_username text, p_addr text)
    RETURNS TABLE (wait_ms bigint, locked boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(max(ceil(extract(epoch FROM greatest(locked_until, next_attempt_at) - now())
                             * 1000))::bigint, 0),
           coalesce(bool_or(locked_until > now()), false)
      FROM login_throttle
     WHERE key IN ('user:' || lower(p_username), 'addr:' || p_addr)
       AND greatest(locked_until, next_attempt_at) > now()
$$;

-- Counts a failed sign-in against the account and the address. From
-- slow_after failures on, the next attempt must wait slow_ms, doubling; at
-- lock_after (addr_lock_after for an address) the key is locked for
-- lock_ms. Failures older than lock_ms are forgotten. Returns, for the log,
-- the keys whose lock this failure found ended ('lock_ended') and the keys it
-- locked ('locked').
CREATE FUNCTION auth_login_failed(p_username text, p_addr text, lock_after integer,
                                  addr_lock_after integer, lock_ms bigint, slow_after integer,
                                  slow_ms bigint)
    RETURNS TABLE (event text, key text, failures integer, locked_until timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    k text;
    limit_at integer;
    n integer;
    prev_lock timestamptz;
BEGIN
    DELETE FROM login_throttle t
     WHERE t.last_failure_at < now() - make_interval(secs => greatest(lock_ms, 86400000) / 1000.0)
       AND coalesce(t.locked_until, '-infinity') < now();
    FOREACH k IN ARRAY ARRAY['user:' || lower(left(p_username, 64)), 'addr:' || p_addr] LOOP
        limit_at := CASE WHEN k LIKE 'user:%' THEN lock_after ELSE addr_lock_after END;
        SELECT t.locked_until INTO prev_lock FROM login_throttle t WHERE t.key = k FOR UPDATE;
        IF prev_lock IS NOT NULL AND prev_lock <= now() THEN
            event := 'lock_ended';
            key := k;
            failures := 0;
            locked_until := prev_lock;
            RETURN NEXT;
        END IF;
        INSERT INTO login_throttle AS t (key, failures, last_failure_at)
        VALUES (k, 1, now())
        ON CONFLICT ON CONSTRAINT login_throttle_pkey DO UPDATE
           SET failures = CASE WHEN t.last_failure_at < now() - make_interval(secs => lock_ms / 1000.0)
                                    OR t.locked_until <= now()
                               THEN 1 ELSE t.failures + 1 END,
               last_failure_at = now()
        RETURNING t.failures INTO n;
        IF n >= limit_at THEN
            UPDATE login_throttle t
               SET locked_until = now() + make_interval(secs => lock_ms / 1000.0),
                   next_attempt_at = NULL
             WHERE t.key = k;
            event := 'locked';
            key := k;
            failures := n;
            locked_until := now() + make_interval(secs => lock_ms / 1000.0);
            RETURN NEXT;
        ELSIF k LIKE 'user:%' AND n >= slow_after THEN
            UPDATE login_throttle t
               SET next_attempt_at = now() + make_interval(
                       secs => least(slow_ms * (2 ^ least(n - slow_after, 16)), lock_ms) / 1000.0),
                   locked_until = NULL
             WHERE t.key = k;
        END IF;
    END LOOP;
END $$;

-- A good sign-in clears the account's failures (not the address's), and
-- returns the account's lock if it had one that has now ended, for the log.
CREATE FUNCTION auth_login_succeeded(p_username text)
    RETURNS TABLE (key text, locked_until timestamptz)
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH cleared AS (
        DELETE FROM login_throttle t WHERE t.key = 'user:' || lower(p_username)
        RETURNING t.key, t.locked_until)
    SELECT key, locked_until FROM cleared WHERE locked_until IS NOT NULL
$$;

-- The signed-in user as the token's subject and version say, or no row
-- when the account is gone, disabled, or changed since the token was made.
-- PL/pgSQL, not SQL: it runs on every signed-in request, and a SECURITY
-- DEFINER SQL function is parsed and planned again on every call, while
-- PL/pgSQL keeps its plan for the connection.
CREATE FUNCTION auth_session(p_user_id bigint, p_token_version integer)
    RETURNS TABLE (user_id bigint, username text, display_name text, role text,
                   street_id bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT u.id, u.username, u.display_name, u.role, u.street_id
      FROM staff_users u
     WHERE u.id = p_user_id AND u.token_version = p_token_version AND NOT u.disabled;
END $$;

-- A new refresh token for a user (p_family NULL: a new sign-in).
CREATE FUNCTION auth_refresh_issue(p_user_id bigint, p_hash bytea, p_ttl_ms bigint)
    RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day';
    INSERT INTO refresh_tokens (family, user_id, token_hash, token_version, expires_at)
    SELECT gen_random_uuid(), id, p_hash, token_version,
           now() + make_interval(secs => p_ttl_ms / 1000.0)
      FROM staff_users WHERE id = p_user_id AND NOT disabled
$$;

-- Trades a refresh token for the next one. outcome: 'ok' (with the user),
-- 'unknown', 'expired', 'revoked' (the user changed or was disabled, or it
-- was logged out) or 'reused' (it was already traded: the family is revoked).
CREATE FUNCTION auth_refresh_rotate(p_hash bytea, p_new_hash bytea, p_ttl_ms bigint)
    RETURNS TABLE (outcome text, user_id bigint, token_version integer)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t refresh_tokens;
    u staff_users;
BEGIN
    SELECT * INTO t FROM refresh_tokens r WHERE r.token_hash = p_hash FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'unknown';
        RETURN NEXT;
        RETURN;
    END IF;
    user_id := t.user_id;
    IF t.used_at IS NOT NULL THEN
        UPDATE refresh_tokens r SET revoked_at = now()
         WHERE r.family = t.family AND r.revoked_at IS NULL;
        outcome := 'reused';
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT * INTO u FROM staff_users s WHERE s.id = t.user_id;
    IF t.revoked_at IS NOT NULL OR u.disabled OR u.token_version <> t.token_version THEN
        UPDATE refresh_tokens r SET revoked_at = now()
         WHERE r.family = t.family AND r.revoked_at IS NULL;
        outcome := 'revoked';
    ELSIF t.expires_at <= now() THEN
        outcome := 'expired';
    ELSE
        UPDATE refresh_tokens r SET used_at = now() WHERE r.id = t.id;
        INSERT INTO refresh_tokens (family, user_id, token_hash, token_version, expires_at)
        VALUES (t.family, t.user_id, p_new_hash, t.token_version,
                now() + make_interval(secs => p_ttl_ms / 1000.0));
        outcome := 'ok';
        token_version := t.token_version;
    END IF;
    RETURN NEXT;
END $$;

-- Sign-out: the token's whole family stops working.
CREATE FUNCTION auth_refresh_revoke(p_hash bytea)
    RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH hit AS (SELECT family FROM refresh_tokens WHERE token_hash = p_hash),
         done AS (UPDATE refresh_tokens r SET revoked_at = now()
                    FROM hit WHERE r.family = hit.family AND r.revoked_at IS NULL
                  RETURNING 1)
    SELECT EXISTS (SELECT FROM hit)
$$;

ALTER FUNCTION auth_login_lookup(text) OWNER TO portal_auth;
ALTER FUNCTION auth_login_gate(text, text) OWNER TO portal_auth;
ALTER FUNCTION auth_login_failed(text, text, integer, integer, bigint, integer, bigint)
    OWNER TO portal_auth;
ALTER FUNCTION auth_login_succeeded(text) OWNER TO portal_auth;
ALTER FUNCTION auth_session(bigint, integer) OWNER TO portal_auth;
ALTER FUNCTION auth_refresh_issue(bigint, bytea, bigint) OWNER TO portal_auth;
ALTER FUNCTION auth_refresh_rotate(bytea, bytea, bigint) OWNER TO portal_auth;
ALTER FUNCTION auth_refresh_revoke(bytea) OWNER TO portal_auth;

REVOKE ALL ON FUNCTION auth_login_lookup(text), auth_login_gate(text, text),
    auth_login_failed(text, text, integer, integer, bigint, integer, bigint),
    auth_login_succeeded(text), auth_session(bigint, integer),
    auth_refresh_issue(bigint, bytea, bigint), auth_refresh_rotate(bytea, bytea, bigint),
    auth_refresh_revoke(bytea), audit_change() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_login_lookup(text), auth_login_gate(text, text),
    auth_login_failed(text, text, integer, integer, bigint, integer, bigint),
    auth_login_succeeded(text), auth_session(bigint, integer),
    auth_refresh_issue(bigint, bytea, bigint), auth_refresh_rotate(bytea, bytea, bigint),
    auth_refresh_revoke(bytea) TO portal_app;

-- ---- what the API returns ----------------------------------------------
-- Views run with the caller's rights (security_invoker), so the policies
-- above apply to them exactly as to the tables.

CREATE VIEW street_docs WITH (security_invoker = true) AS
SELECT s.id, json_build_object('id', s.id, 'name', s.name, 'district_id', s.district_id,
                               'district_name', d.name) AS doc
  FROM streets s JOIN districts d ON d.id = s.district_id;

CREATE VIEW community_docs WITH (security_invoker = true) AS
SELECT c.id, c.street_id,
       json_build_object('id', c.id, 'name', c.name, 'street_id', c.street_id,
                         'street_name', s.name, 'committee_elected_on', c.committee_elected_on,
                         'committee_size', c.committee_size, 'secretary_name', c.secretary_name,
                         'secretary_post', c.secretary_post) AS doc
  FROM communities c JOIN streets s ON s.id = c.street_id;

CREATE VIEW staff_user_docs WITH (security_invoker = true) AS
SELECT u.id, json_build_object('id', u.id, 'username', u.username,
                               'display_name', u.display_name, 'role', u.role,
                               'street_id', u.street_id, 'street_name', s.name,
                               'disabled', u.disabled, 'created_at', u.created_at,
                               'updated_at', u.updated_at) AS doc
  FROM staff_users u LEFT JOIN streets s ON s.id = u.street_id;

GRANT SELECT ON street_docs, community_docs, staff_user_docs TO portal_app;
