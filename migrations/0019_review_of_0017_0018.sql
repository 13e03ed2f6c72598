-- Two changes after a review of 0017 and 0018.
--
-- 1. A vote's count row is picked by the worker's place in its pool, which
--    portald sets on each connection (portal.vote_shard, 0 to 15, in
--    sql/session_settings.sql), and only without one by the backend's
--    process id. Process ids are consecutive only while a pool's backends
--    are new: once workers are recycled (max-requests) or reconnect, two
--    of them could share the last four bits, and then met on every vote.
--    Places 0 to 15 of a pool never do. (Pools on several hosts share
--    places: two of their workers meet on a row as any two did under the
--    voter's hash, one vote in sixteen or less.)
-- 2. case_photo_correct's p_replaces has a default, so a portald built
--    before 0018 (nine arguments), still running between the migration and
--    its restart, adds a correction's picture instead of failing; and the
--    same picture sent again in its own place is refused naming replaces,
--    the parameter that made it change nothing.

CREATE OR REPLACE FUNCTION votes_count() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO vote_counts AS v (case_id, choice, shard, n)
    VALUES (NEW.case_id, NEW.choice,
            coalesce(nullif(current_setting('portal.vote_shard', true), '')::integer,
                     pg_backend_pid()) & 15, 1)
    ON CONFLICT (case_id, choice, shard) DO UPDATE SET n = v.n + 1;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION case_photo_correct(p_case bigint, p_sha256 text, p_media_type text,
                                   p_width integer, p_height integer, p_bytes bytea,
                                   p_caption text, p_note text, expected_version integer,
                                   p_replaces bigint DEFAULT NULL)
    RETURNS TABLE (outcome text, state text, version integer, allowed text[], detail text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c cases;
    r text := portal_role();
    old case_photos;
BEGIN
    SELECT * INTO c FROM cases WHERE id = p_case FOR UPDATE;
    IF NOT FOUND OR NOT case_visible(c.state, c.street_id) THEN
        RETURN QUERY SELECT 'not_found', NULL::text, NULL::integer, NULL::text[], NULL::text;
        RETURN;
    END IF;
    state := c.state;
    version := c.version;
    allowed := allowed_actions(c.state, r, 'case');
    IF c.state NOT IN ('published', 'voting', 'closed') THEN
        outcome := 'not_allowed';
    ELSIF r <> 'reviewer' THEN
        outcome := 'forbidden';
    ELSIF expected_version IS NULL THEN
        outcome := 'version_required';
    ELSIF expected_version <> c.version THEN
        outcome := 'stale';
    ELSIF coalesce(btrim(p_note), '') = '' THEN
        outcome := 'note_required';
    ELSIF encode(sha256(p_bytes), 'hex') <> p_sha256 THEN
        outcome := 'bad_content';
        detail := 'the bytes do not hash to their name';
    ELSIF p_replaces IS NOT NULL THEN
        SELECT * INTO old FROM case_photos p WHERE p.case_id = p_case AND p.id = p_replaces;
        IF NOT FOUND THEN
            outcome := 'bad_replaces';
            detail := 'replaces names no photo of this case';
        ELSIF old.sha256 = p_sha256 AND coalesce(p_caption, old.caption) = old.caption THEN
            outcome := 'bad_replaces';
            detail := 'is this very picture, under the same caption: the correction changes nothing';
        END IF;
    ELSIF (SELECT count(*) FROM case_photos p WHERE p.case_id = p_case) >= 100 THEN
        outcome := 'bad_content';
        detail := 'a case shows at most 100 photos';
    END IF;
    IF outcome IS NOT NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO photo_blobs AS b (sha256, media_type, width, height, bytes)
    VALUES (p_sha256, p_media_type, p_width, p_height, p_bytes)
    ON CONFLICT (sha256) DO UPDATE SET stored_at = now();
    IF p_replaces IS NULL THEN
        INSERT INTO case_photos (case_id, street_id, sha256, position, caption)
        VALUES (p_case, c.street_id, p_sha256,
                coalesce((SELECT max(p.position) FROM case_photos p WHERE p.case_id = p_case), 0) + 1,
                coalesce(p_caption, ''));
    ELSE
        -- in the old one's place, under its caption unless given another
        DELETE FROM case_photos p WHERE p.id = old.id;
        INSERT INTO case_photos (case_id, street_id, sha256, position, caption)
        VALUES (p_case, c.street_id, p_sha256, old.position, coalesce(p_caption, old.caption));
    END IF;
    -- the case's version follows its photos, and the revision at commit keeps them
    UPDATE cases AS k SET updated_at = now() WHERE k.id = p_case
    RETURNING k.state, k.version INTO state, version;
    INSERT INTO case_events (case_id, action, from_state, to_state, actor_id, actor, note,
                             edition_id, version, request_id)
    VALUES (p_case, 'correct', c.state, c.state, portal_user_id(), portal_actor(),
            btrim(p_note), NULL, version, nullif(current_setting('portal.request_id', true), ''));
    outcome := 'ok';
    RETURN NEXT;
END $$;
