-- A correction may replace a picture in one step: case_photo_correct's new
-- p_replaces names a photo of the case, and the upload takes its place
-- (its position, and its caption unless another is given) in the same
-- event and revision. Before, a replacement was two corrections: the new
-- picture added, then the old one taken down, and between them the public
-- page showed both, with two 更正 notes for one change.
DROP FUNCTION case_photo_correct(bigint, text, text, integer, integer, bytea, text, text, integer);

CREATE FUNCTION case_photo_correct(p_case bigint, p_sha256 text, p_media_type text,
                                   p_width integer, p_height integer, p_bytes bytea,
                                   p_caption text, p_note text, expected_version integer,
                                   p_replaces bigint)
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
            outcome := 'unchanged';
            detail := 'the correction changes nothing';
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
ALTER FUNCTION case_photo_correct(bigint, text, text, integer, integer, bytea, text, text, integer,
                                  bigint) OWNER TO portal_workflow;
REVOKE ALL ON FUNCTION case_photo_correct(bigint, text, text, integer, integer, bytea, text, text,
                                          integer, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION case_photo_correct(bigint, text, text, integer, integer, bytea, text,
                                             text, integer, bigint) TO portal_app;
