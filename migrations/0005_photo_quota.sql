-- Bounded photo storage, and communities that keep their cases.
--
-- 1. A community with cases stays on its street. Cases carry their street
--    (row security reads it), so do their photos, and cases_guard never lets
--    a case change street; moving such a community would leave its cases
--    readable by neither street. The move is refused (restrict_violation,
--    which portald answers 409 conflict); a community without cases still
--    moves. Refusing keeps every invariant as it is; carrying the cases
--    along would have to change the street of the cases (past the guard
--    that keeps a case with its street) and of their photos, and hand one
--    street's history to another, for a move that should be rare.
--    The refusal and a case's creation serialize on the community (its row
--    lock, then an advisory lock per community, held to commit by both), so
--    a case created while its community moves cannot slip in between:
--    whichever commits second sees the first.
-- 2. Photo bytes nothing refers to are collected: a blob is kept while any
--    case_photos row or any revision's content names it (revisions are the
--    history, append-only, so a photo that was ever saved in a case stays
--    as long as that history does), and for a grace after it was last
--    stored. Storing touches stored_at under the row's lock and the
--    collector takes rows FOR UPDATE SKIP LOCKED, so an upload of bytes the
--    collector is deleting either waits and stores them again, or keeps them.
-- 3. Each street's photos are capped: a street holds the distinct blobs its
--    case photos and its cases' revisions name, and an upload that would
--    take that past the quota is refused before anything is stored.

-- ---- 1. a community with cases stays on its street -------------------------

-- The advisory lock a community's move and its cases' creation share.
CREATE FUNCTION community_cases_lock(p_community bigint) RETURNS void
    LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtext('portal.community_cases'),
                                 (p_community % 2147483647)::integer) $$;
GRANT EXECUTE ON FUNCTION community_cases_lock(bigint) TO portal_app, portal_workflow;

-- Owned by portal_workflow, which sees every case (drafts too: the admin
-- moving the community does not).
CREATE FUNCTION communities_keep_cases() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.street_id IS DISTINCT FROM OLD.street_id THEN
        PERFORM community_cases_lock(OLD.id);
        -- a statement of its own, so (read committed) it sees a case whose
        -- creation held the lock and has committed
        IF EXISTS (SELECT 1 FROM cases c WHERE c.community_id = OLD.id) THEN
            RAISE EXCEPTION 'the community has cases, and cases stay with the street that wrote them: a community moves to another street only while it has none'
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$;
ALTER FUNCTION communities_keep_cases() OWNER TO portal_workflow;
REVOKE ALL ON FUNCTION communities_keep_cases() FROM PUBLIC;
CREATE TRIGGER communities_keep_cases BEFORE UPDATE OF street_id ON communities
    FOR EACH ROW EXECUTE FUNCTION communities_keep_cases();

-- After the insert's foreign key check (which takes the community's row
-- lock in share mode: triggers run in name order, and the key check's
-- name, RI_ConstraintTrigger_..., sorts first), so both sides take the row
-- lock, then the advisory one, in that order, and never deadlock. Then it
-- reads the community's street again: a move that committed meanwhile is
-- seen (the community is gone from the editor's street), and the case is
-- refused instead of orphaned.
CREATE FUNCTION cases_community_stays() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM community_cases_lock(NEW.community_id);
    IF (SELECT m.street_id FROM communities m WHERE m.id = NEW.community_id)
           IS DISTINCT FROM NEW.street_id THEN
        RAISE EXCEPTION 'no such community' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER cases_community_stays AFTER INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_community_stays();

-- ---- 2. collecting bytes nothing refers to ---------------------------------

-- When these bytes were last stored (uploaded); collection waits a grace after it.
ALTER TABLE photo_blobs ADD COLUMN stored_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX photo_blobs_stored_idx ON photo_blobs (stored_at);
-- "does any revision name this blob", for the collector, without reading them all
CREATE INDEX case_revisions_photos_idx ON case_revisions
    USING gin ((content -> 'photos') jsonb_path_ops);

-- As in 0003, and bytes stored again (the same picture uploaded anew) are
-- touched: the row's lock keeps the collector off them until this
-- transaction ends, and their grace starts again. Returns true when the
-- bytes were new.
CREATE OR REPLACE FUNCTION photo_blob_store(p_sha256 text, p_media_type text, p_width integer,
                                            p_height integer, p_bytes bytea) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    created boolean;
BEGIN
    IF portal_role() <> 'editor' THEN
        RAISE EXCEPTION 'only editors store photos' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF encode(sha256(p_bytes), 'hex') <> p_sha256 THEN
        RAISE EXCEPTION 'the bytes do not hash to their name' USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO photo_blobs AS b (sha256, media_type, width, height, bytes)
    VALUES (p_sha256, p_media_type, p_width, p_height, p_bytes)
    ON CONFLICT (sha256) DO UPDATE SET stored_at = now()
    RETURNING (b.xmax = 0) INTO created; -- xmax is 0 on a row this statement inserted
    RETURN created;
END $$;
GRANT UPDATE (stored_at), DELETE ON photo_blobs TO portal_workflow;

-- Deletes up to p_limit blobs that no case photo and no revision names and
-- that were last stored more than p_grace_ms ago. Any worker of any pool
-- host may call it at any time: rows another transaction holds (an upload
-- storing the same bytes, a concurrent collector) are skipped, and a blob a
-- case took up since the candidates were read stays (the foreign key
-- refuses its deletion, which only skips it). Returns what it deleted.
CREATE FUNCTION photo_blobs_collect(p_grace_ms bigint, p_limit integer)
    RETURNS TABLE (collected integer, bytes bigint)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    candidate text;
    size      bigint;
BEGIN
    collected := 0;
    bytes := 0;
    FOR candidate IN
        SELECT b.sha256 FROM photo_blobs b
         WHERE b.stored_at < now() - make_interval(secs => greatest(p_grace_ms, 0) / 1000.0)
           AND NOT EXISTS (SELECT 1 FROM case_photos p WHERE p.sha256 = b.sha256)
           AND NOT EXISTS (SELECT 1 FROM case_revisions r
                            WHERE r.content -> 'photos'
                                  @> jsonb_build_array(jsonb_build_object('sha256', b.sha256)))
         ORDER BY b.stored_at
         LIMIT greatest(p_limit, 0)
           FOR UPDATE SKIP LOCKED
    LOOP
        BEGIN
            DELETE FROM photo_blobs b WHERE b.sha256 = candidate
            RETURNING length(b.bytes) INTO size;
            collected := collected + 1;
            bytes := bytes + size;
        EXCEPTION WHEN foreign_key_violation THEN
            NULL; -- a case photo names it now: it stays
        END;
    END LOOP;
    RETURN NEXT;
END $$;
ALTER FUNCTION photo_blobs_collect(bigint, integer) OWNER TO portal_workflow;
REVOKE ALL ON FUNCTION photo_blobs_collect(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION photo_blobs_collect(bigint, integer) TO portal_app;

-- ---- 3. a street's photo quota -------------------------------------------

-- The bytes of the distinct blobs a street holds: those its case photos
-- name and those its cases' revisions name (a photo removed from a draft
-- stays in the draft's history, so it still counts). A blob two streets
-- hold counts for each. Reads length(), which does not fetch the bytes.
CREATE FUNCTION street_photo_bytes(p_street bigint, p_sha256 text)
    RETURNS TABLE (used bigint, held boolean)
    LANGUAGE sql STABLE AS $$
    WITH named AS (
        SELECT p.sha256 FROM case_photos p WHERE p.street_id = p_street
        UNION
        SELECT e ->> 'sha256'
          FROM cases c
          JOIN case_revisions r ON r.case_id = c.id
         CROSS JOIN jsonb_array_elements(r.content -> 'photos') AS e
         WHERE c.street_id = p_street)
    SELECT coalesce(sum(length(b.bytes)), 0)::bigint, coalesce(bool_or(b.sha256 = p_sha256), false)
      FROM photo_blobs b JOIN named n ON n.sha256 = b.sha256 $$;

-- May the transaction's editor store p_size more bytes named p_sha256
-- within p_quota? Bytes its street already holds cost nothing. Uploads of
-- one street serialize here until they commit, so two of them cannot both
-- take the last room. Runs as portal_workflow, which sees the blobs only a
-- revision names (the editor does not), and only ever for the caller's own
-- street.
CREATE FUNCTION photo_quota_check(p_sha256 text, p_size bigint, p_quota bigint)
    RETURNS TABLE (used bigint, fits boolean)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    street bigint := portal_street_id();
    held   boolean;
BEGIN
    IF portal_role() <> 'editor' OR street IS NULL THEN
        RAISE EXCEPTION 'only editors store photos' USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('portal.street_photos'),
                                  (street % 2147483647)::integer);
    -- a statement of its own, after the lock: it sees the uploads that held it
    SELECT s.used, s.held INTO used, held FROM street_photo_bytes(street, p_sha256) s;
    fits := held OR used + p_size <= p_quota;
    RETURN NEXT;
END $$;
ALTER FUNCTION street_photo_bytes(bigint, text) OWNER TO portal_workflow;
ALTER FUNCTION photo_quota_check(text, bigint, bigint) OWNER TO portal_workflow;
REVOKE ALL ON FUNCTION street_photo_bytes(bigint, text), photo_quota_check(text, bigint, bigint)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION street_photo_bytes(bigint, text) TO portal_workflow;
GRANT EXECUTE ON FUNCTION photo_quota_check(text, bigint, bigint) TO portal_app;
