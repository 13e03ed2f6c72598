-- Corrections may also remove, reorder and re-caption a published case's
-- photos (a wrong or private picture must be able to go): content.photos
-- lists the photos to keep, [{id, caption}], in their new order. New
-- pictures are not added this way.
GRANT UPDATE (position, caption), DELETE ON case_photos TO portal_workflow;
CREATE POLICY case_photos_workflow_correct ON case_photos TO portal_workflow
    USING (true) WITH CHECK (true);

CREATE OR REPLACE FUNCTION case_correct(p_case bigint, p_note text, p_content jsonb, expected_version integer)
    RETURNS TABLE (outcome text, state text, version integer, allowed text[], detail text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c cases;
    r text := portal_role();
BEGIN
    SELECT * INTO c FROM cases WHERE id = p_case FOR UPDATE;
    IF NOT FOUND OR NOT case_visible(c.state, c.street_id) THEN
        RETURN QUERY SELECT 'not_found', NULL::text, NULL::integer, NULL::text[], NULL::text;
        RETURN;
    END IF;
    state := c.state;
    version := c.version;
    allowed := allowed_actions(c.state, r, 'case');
    IF expected_version IS NOT NULL AND expected_version <> c.version THEN
        outcome := 'stale';
    ELSIF c.state NOT IN ('published', 'voting', 'closed') THEN
        outcome := 'not_allowed';
    ELSIF r <> 'reviewer' THEN
        outcome := 'forbidden';
    ELSIF coalesce(btrim(p_note), '') = '' THEN
        outcome := 'note_required';
    ELSIF p_content IS NULL OR jsonb_typeof(p_content) <> 'object' OR p_content = '{}' THEN
        outcome := 'bad_content';
        detail := 'a correction names the corrected fields in content';
    END IF;
    IF outcome IS NOT NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_content ? 'photos' THEN
        IF jsonb_typeof(p_content -> 'photos') <> 'array' OR EXISTS (
               SELECT 1 FROM jsonb_array_elements(p_content -> 'photos') AS x
                WHERE NOT EXISTS (SELECT 1 FROM case_photos p
                                   WHERE p.case_id = p_case AND p.id = (x ->> 'id')::bigint)) THEN
            outcome := 'bad_content';
            detail := 'photos lists only photos this case has';
            RETURN NEXT;
            RETURN;
        END IF;
        -- the photos not listed go; the listed ones take the list's order
        -- and any new caption
        DELETE FROM case_photos p
         WHERE p.case_id = p_case
           AND p.id NOT IN (SELECT (x ->> 'id')::bigint
                              FROM jsonb_array_elements(p_content -> 'photos') AS x);
        UPDATE case_photos p
           SET position = t.ord, caption = coalesce(t.x ->> 'caption', p.caption)
          FROM jsonb_array_elements(p_content -> 'photos') WITH ORDINALITY AS t (x, ord)
         WHERE p.case_id = p_case AND p.id = (t.x ->> 'id')::bigint;
    END IF;
    PERFORM set_config('portal.correcting', p_case::text, true);
    UPDATE cases AS k SET
        title = coalesce(p_content ->> 'title', k.title),
        problem = coalesce(p_content ->> 'problem', k.problem),
        actions = coalesce(p_content -> 'actions', k.actions),
        testimonial_text = coalesce(p_content -> 'testimonial' ->> 'text', k.testimonial_text),
        testimonial_speaker = coalesce(p_content -> 'testimonial' ->> 'speaker',
                                       k.testimonial_speaker),
        testimonial_post = coalesce(p_content -> 'testimonial' ->> 'post', k.testimonial_post)
     WHERE k.id = p_case
    RETURNING k.state, k.version INTO state, version;
    PERFORM set_config('portal.correcting', '', true);
    INSERT INTO case_events (case_id, action, from_state, to_state, actor_id, actor, note,
                             edition_id, version, request_id)
    VALUES (p_case, 'correct', c.state, c.state, portal_user_id(), portal_actor(),
            btrim(p_note), NULL, version, nullif(current_setting('portal.request_id', true), ''));
    outcome := 'ok';
    RETURN NEXT;
END $$;
