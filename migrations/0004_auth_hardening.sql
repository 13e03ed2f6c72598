-- Sign-in hardening (issue 8).
--
-- 1. A sign-in attempt is counted before its password is checked.
--    auth_login_reserve() decides whether the attempt may go ahead and, when
--    it may, counts it as a failure against the account and the address in
--    the same statement, under the rows' locks; portald commits that before
--    it runs Argon2. So at most login-lock-after attempts on an account are
--    ever checked, however many workers take guesses at once: the rest find
--    the lock (or the wait) already there. A good password then takes the
--    attempt back (auth_login_succeeded); a wrong one leaves it counted and
--    starts the account's wait from the moment it failed
--    (auth_login_failed). A worker that dies in between leaves a failure:
--    the safe side.
--    A lock that has ended now starts the count again from one, so the
--    next login-lock-after failures lock the key again (before, an ended
--    lock stayed on the row and every later failure counted as the first).
--
-- 2. A refresh family has an absolute end (family_started_at plus
--    refresh-max-age), however often it is refreshed.
--
-- 3. A reused refresh token signs the account out: the family is revoked and
--    the account's token_version moves on, so access tokens issued from the
--    stolen family stop working at once (as after a password change). Two
--    tabs refreshing with the same cookie are not a theft: within
--    refresh-grace of its rotation, the token just rotated buys an access
--    token, but no refresh token (the cookie stays the successor the first
--    answer set), and only while that successor is still unused. Someone
--    else holding the old token gains at most one short-lived access token
--    in those seconds, and a use after them is caught.

-- ---- token_version moves by itself only when an account is signed out -------

CREATE OR REPLACE FUNCTION staff_users_touch() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    IF NEW.role IS DISTINCT FROM OLD.role OR NEW.street_id IS DISTINCT FROM OLD.street_id
       OR NEW.disabled IS DISTINCT FROM OLD.disabled
       OR NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
        NEW.token_version := OLD.token_version + 1;
    ELSIF NEW.token_version IS DISTINCT FROM OLD.token_version + 1 THEN
        -- only a sign-out (auth_refresh_rotate, on a reused token) moves it,
        -- by one; nothing else may set it
        NEW.token_version := OLD.token_version;
    END IF;
    RETURN NEW;
END $$;

GRANT UPDATE (token_version) ON staff_users TO portal_auth;
CREATE POLICY staff_users_auth_signout ON staff_users FOR UPDATE TO portal_auth
    USING (true) WITH CHECK (true);

-- ---- refresh families ---------------------------------------------------

-- Families alive when this runs count their age from now.
ALTER TABLE refresh_tokens
    ADD COLUMN family_started_at timestamptz NOT NULL DEFAULT now(),
    -- the token this one replaced (NULL for a sign-in's first)
    ADD COLUMN parent_id bigint;
ALTER TABLE refresh_tokens ALTER COLUMN family_started_at DROP DEFAULT;
CREATE INDEX refresh_tokens_parent_idx ON refresh_tokens (parent_id);

DROP FUNCTION auth_refresh_issue(bigint, bytea, bigint);
DROP FUNCTION auth_refresh_rotate(bytea, bytea, bigint);

-- A sign-in's first refresh token, starting a family that ends max_ms later.
CREATE FUNCTION auth_refresh_issue(p_user_id bigint, p_hash bytea, p_ttl_ms bigint,
                                   p_max_age_ms bigint)
    RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day';
    INSERT INTO refresh_tokens (family, user_id, token_hash, token_version, expires_at,
                                family_started_at)
    SELECT gen_random_uuid(), id, p_hash, token_version,
           now() + make_interval(secs => least(p_ttl_ms, p_max_age_ms) / 1000.0), now()
      FROM staff_users WHERE id = p_user_id AND NOT disabled
$$;

-- Trades a refresh token for the next one. outcome:
--   'ok'       the next token is stored (with the user, its version, and
--              expires_in: seconds until the new token ends)
--   'grace'    the token was rotated less than p_grace_ms ago and its
--              successor is unused: an access token may be issued (user and
--              version given), no new refresh token
--   'reused'   it was already traded: the family is revoked and, if it was
--              still alive, the account signed out (token_version + 1)
--   'revoked'  the user changed or was disabled, or it was signed out
--   'expired'  the token, or its family (p_max_age_ms), has ended
--   'unknown'
CREATE FUNCTION auth_refresh_rotate(p_hash bytea, p_new_hash bytea, p_ttl_ms bigint,
                                    p_grace_ms bigint, p_max_age_ms bigint)
    RETURNS TABLE (outcome text, user_id bigint, token_version integer, expires_in integer)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t refresh_tokens;
    u staff_users;
    successor refresh_tokens;
    family_ends timestamptz;
    next_ends timestamptz;
    revoked integer;
BEGIN
    SELECT * INTO t FROM refresh_tokens r WHERE r.token_hash = p_hash FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'unknown';
        RETURN NEXT;
        RETURN;
    END IF;
    user_id := t.user_id;
    family_ends := t.family_started_at + make_interval(secs => p_max_age_ms / 1000.0);
    SELECT * INTO u FROM staff_users s WHERE s.id = t.user_id;
    IF t.used_at IS NOT NULL THEN
        SELECT * INTO successor FROM refresh_tokens r WHERE r.parent_id = t.id;
        IF t.revoked_at IS NULL AND now() - t.used_at <= make_interval(secs => p_grace_ms / 1000.0)
           AND successor.id IS NOT NULL AND successor.used_at IS NULL
           AND successor.revoked_at IS NULL AND NOT u.disabled
           AND u.token_version = t.token_version AND family_ends > now() THEN
            outcome := 'grace';
            token_version := t.token_version;
            RETURN NEXT;
            RETURN;
        END IF;
        UPDATE refresh_tokens r SET revoked_at = now()
         WHERE r.family = t.family AND r.revoked_at IS NULL;
        GET DIAGNOSTICS revoked = ROW_COUNT;
        IF revoked > 0 THEN
            -- a live family has two holders: end every session of the
            -- account, access tokens included (a replay of a family already
            -- ended signs no one out again)
            UPDATE staff_users s SET token_version = s.token_version + 1
             WHERE s.id = t.user_id;
        END IF;
        outcome := 'reused';
        RETURN NEXT;
        RETURN;
    END IF;
    IF t.revoked_at IS NOT NULL OR u.disabled OR u.token_version <> t.token_version THEN
        UPDATE refresh_tokens r SET revoked_at = now()
         WHERE r.family = t.family AND r.revoked_at IS NULL;
        outcome := 'revoked';
    ELSIF t.expires_at <= now() OR family_ends <= now() THEN
        outcome := 'expired';
    ELSE
        next_ends := least(now() + make_interval(secs => p_ttl_ms / 1000.0), family_ends);
        UPDATE refresh_tokens r SET used_at = now() WHERE r.id = t.id;
        INSERT INTO refresh_tokens (family, user_id, token_hash, token_version, expires_at,
                                    family_started_at, parent_id)
        VALUES (t.family, t.user_id, p_new_hash, t.token_version, next_ends,
                t.family_started_at, t.id);
        outcome := 'ok';
        token_version := t.token_version;
        expires_in := greatest(floor(extract(epoch FROM next_ends - now())), 1)::integer;
    END IF;
    RETURN NEXT;
END $$;

-- ---- sign-in attempts ----------------------------------------------------

DROP FUNCTION auth_login_gate(text, text);
DROP FUNCTION auth_login_failed(text, text, integer, integer, bigint, integer, bigint);
DROP FUNCTION auth_login_succeeded(text);

-- Decides whether a sign-in may be tried now and, if so, counts it as a
-- failure against the account ('user:<name>') and the client address
-- ('addr:<address>': portald passes an IPv6 client's /64). Exactly one row
-- has event 'go' or 'wait' (wait_ms, and locked when a lock is the reason);
-- on 'go' the other rows are, for the log, the keys whose ended lock this
-- attempt found ('lock_ended') and the keys it locked ('locked'). From
-- slow_after failures on, an account's next attempt must wait slow_ms,
-- doubling; at lock_after (addr_lock_after for an address) the key is
-- locked for lock_ms. Failures older than lock_ms are forgotten.
CREATE FUNCTION auth_login_reserve(p_username text, p_addr text, lock_after integer,
                                   addr_lock_after integer, lock_ms bigint, slow_after integer,
                                   slow_ms bigint)
    RETURNS TABLE (event text, key text, failures integer, locked_until timestamptz,
                   wait_ms bigint, locked boolean)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    keys text[] := ARRAY['user:' || lower(left(p_username, 64)), 'addr:' || left(p_addr, 64)];
    lock_for interval := make_interval(secs => lock_ms / 1000.0);
    k text;
    r login_throttle;
    until timestamptz;
    limit_at integer;
    n integer;
    longest bigint := 0;
    any_lock boolean := false;
BEGIN
    DELETE FROM login_throttle t
     WHERE t.last_failure_at < now() - make_interval(secs => greatest(lock_ms, 86400000) / 1000.0)
       AND coalesce(t.locked_until, '-infinity') < now();
    -- Both rows exist, and this transaction holds them (in key order, as
    -- every attempt does), before anything is decided: two attempts never
    -- both read the count the other is about to raise.
    INSERT INTO login_throttle AS t (key, failures, last_failure_at)
    SELECT unnest(keys), 0, now()
    ON CONFLICT ON CONSTRAINT login_throttle_pkey DO NOTHING;
    FOR r IN SELECT * FROM login_throttle t WHERE t.key = ANY (keys) ORDER BY t.key FOR UPDATE
    LOOP
        until := greatest(r.locked_until, r.next_attempt_at);
        IF until > now() THEN
            longest := greatest(longest, ceil(extract(epoch FROM until - now()) * 1000)::bigint);
            any_lock := any_lock OR r.locked_until > now();
        END IF;
    END LOOP;
    IF longest > 0 THEN
        event := 'wait';
        wait_ms := longest;
        locked := any_lock;
        RETURN NEXT;
        RETURN;
    END IF;
    wait_ms := 0;
    locked := false;
    FOREACH k IN ARRAY keys LOOP
        limit_at := CASE WHEN k LIKE 'user:%' THEN lock_after ELSE addr_lock_after END;
        SELECT * INTO r FROM login_throttle t WHERE t.key = k;
        IF r.locked_until IS NOT NULL THEN -- it has ended, or this attempt would wait
            event := 'lock_ended';
            key := k;
            failures := r.failures;
            locked_until := r.locked_until;
            RETURN NEXT;
        END IF;
        n := CASE WHEN r.locked_until IS NOT NULL OR r.last_failure_at < now() - lock_for THEN 1
                  ELSE r.failures + 1 END;
        UPDATE login_throttle t
           SET failures = n,
               last_failure_at = now(),
               locked_until = CASE WHEN n >= limit_at THEN now() + lock_for END,
               next_attempt_at = CASE WHEN n < limit_at AND k LIKE 'user:%' AND n >= slow_after
                                      THEN now() + make_interval(secs => least(
                                          slow_ms * (2 ^ least(n - slow_after, 16)), lock_ms)
                                          / 1000.0) END
         WHERE t.key = k;
        IF n >= limit_at THEN
            event := 'locked';
            key := k;
            failures := n;
            locked_until := now() + lock_for;
            RETURN NEXT;
        END IF;
    END LOOP;
    event := 'go';
    key := NULL;
    failures := NULL;
    locked_until := NULL;
    RETURN NEXT;
END $$;

-- The password was wrong: the attempt stays counted, and the account's
-- wait, if it has one, runs from now (the check itself took a while).
CREATE FUNCTION auth_login_failed(p_username text, lock_ms bigint, slow_after integer,
                                  slow_ms bigint)
    RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE login_throttle t
       SET next_attempt_at = now() + make_interval(secs => least(
               slow_ms * (2 ^ least(t.failures - slow_after, 16)), lock_ms) / 1000.0)
     WHERE t.key = 'user:' || lower(left(p_username, 64)) AND t.next_attempt_at IS NOT NULL
$$;

-- The password was right: the account's failures are cleared, and the
-- address gets this attempt back (with the lock it alone may have set).
CREATE FUNCTION auth_login_succeeded(p_username text, p_addr text, addr_lock_after integer)
    RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM login_throttle t WHERE t.key = 'user:' || lower(left(p_username, 64));
    UPDATE login_throttle t
       SET failures = greatest(t.failures - 1, 0),
           locked_until = CASE WHEN t.failures - 1 < addr_lock_after THEN NULL
                               ELSE t.locked_until END
     WHERE t.key = 'addr:' || left(p_addr, 64);
$$;

ALTER FUNCTION auth_refresh_issue(bigint, bytea, bigint, bigint) OWNER TO portal_auth;
ALTER FUNCTION auth_refresh_rotate(bytea, bytea, bigint, bigint, bigint) OWNER TO portal_auth;
ALTER FUNCTION auth_login_reserve(text, text, integer, integer, bigint, integer, bigint)
    OWNER TO portal_auth;
ALTER FUNCTION auth_login_failed(text, bigint, integer, bigint) OWNER TO portal_auth;
ALTER FUNCTION auth_login_succeeded(text, text, integer) OWNER TO portal_auth;

REVOKE ALL ON FUNCTION auth_refresh_issue(bigint, bytea, bigint, bigint),
    auth_refresh_rotate(bytea, bytea, bigint, bigint, bigint),
    auth_login_reserve(text, text, integer, integer, bigint, integer, bigint),
    auth_login_failed(text, bigint, integer, bigint), auth_login_succeeded(text, text, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_refresh_issue(bigint, bytea, bigint, bigint),
    auth_refresh_rotate(bytea, bytea, bigint, bigint, bigint),
    auth_login_reserve(text, text, integer, integer, bigint, integer, bigint),
    auth_login_failed(text, bigint, integer, bigint), auth_login_succeeded(text, text, integer)
    TO portal_app;
