-- Communities that keep their cases (the rest of the file comes with the
-- photo quota).
--
-- 1. A community with cases stays on its street. Cases carry their street
--    (row security reads it), so do their photos, and cases_guard never lets
--    a case change street; moving such a community would leave its cases
--    readable by neither street. The move is refused (restrict_violation,
--    which portald answers 409 conflict); a community without cases still
--    moves. Refusing keeps every invariant as it is; carrying the cases
--    along would have to rewrite revisions' and photos' streets and the
--    editors' view of history, for a move that should be rare.
--    The refusal and a case's creation serialize on the community (an
--    advisory lock per community, held to commit by both), so a case
--    created while its community moves cannot slip in between: whichever
--    commits second sees the first.

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

-- Named to run before cases_set_street (triggers run in name order), which
-- then reads the community's street after the lock: a move that committed
-- meanwhile is seen, and the case is refused instead of orphaned.
CREATE FUNCTION cases_lock_community() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM community_cases_lock(NEW.community_id);
    RETURN NEW;
END $$;
CREATE TRIGGER cases_lock_community BEFORE INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_lock_community();
