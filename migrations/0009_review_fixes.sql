-- What an outside review of the public vote, the tally and corrections
-- found, fixed in the schema:
--  * once an edition has closed, every count shown comes from the tally
--    recorded at close, and the counts kept beside the votes no longer
--    change, so no change to them after the close alters what is published
--    (and portalctl tally verify compares them too);
--  * the application role votes only through vote_cast(), which holds the
--    per-address cap (it could insert votes directly before);
--  * exports quote text that a spreadsheet would run as a formula, and
--    choices may not start like one;
--  * an edition's number and title are fixed once its vote has opened;
--  * a case keeps the community, street and committee it was published
--    with, so a later change of the community does not rewrite old pages;
--  * a correction needs the version it corrects (If-Match), must change
--    something, and leaves the case complete.

-- ---- counts after the close -----------------------------------------------------

-- {choice: count} as the public sees it: from the tally once the edition
-- has closed with one, else from the counts kept beside the votes.
CREATE FUNCTION case_votes(p_case bigint, p_edition bigint, p_choices text[]) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN t.counts IS NOT NULL
                THEN (SELECT coalesce(json_object_agg(x.ch, coalesce(
                                 (t.counts -> p_case::text ->> x.ch)::bigint, 0) ORDER BY x.ord),
                                 '{}')
                        FROM unnest(p_choices) WITH ORDINALITY AS x (ch, ord))
                ELSE vote_tally(p_case, p_choices) END
      FROM (SELECT (SELECT et.counts FROM edition_tallies et WHERE et.edition_id = p_edition)
                   AS counts) AS t $$;
GRANT EXECUTE ON FUNCTION case_votes(bigint, bigint, text[]) TO portal_app, portal_workflow;

-- The counts beside the votes change only while their edition is voting.
CREATE OR REPLACE FUNCTION vote_counts_only_grow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'vote counts only grow' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.n < OLD.n OR (NEW.case_id, NEW.choice, NEW.shard)
            IS DISTINCT FROM (OLD.case_id, OLD.choice, OLD.shard)) THEN
        RAISE EXCEPTION 'vote counts only grow' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cases c JOIN editions e ON e.id = c.edition_id
                    WHERE c.id = NEW.case_id AND e.state = 'voting') THEN
        RAISE EXCEPTION 'the counts of a vote that is not open do not change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER vote_counts_only_grow ON vote_counts;
CREATE TRIGGER vote_counts_only_grow BEFORE INSERT OR UPDATE OR DELETE ON vote_counts
    FOR EACH ROW EXECUTE FUNCTION vote_counts_only_grow();

-- The application votes only through vote_cast().
REVOKE INSERT ON votes FROM portal_app;

-- portalctl tally verify also compares the counts that were shown while
-- voting (kept beside the votes) with the recount.
CREATE FUNCTION edition_kept_counts(p_edition bigint) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(jsonb_object_agg(c.id::text, (
               SELECT coalesce(jsonb_object_agg(ch, (SELECT coalesce(sum(v.n), 0)
                                                       FROM vote_counts v
                                                      WHERE v.case_id = c.id AND v.choice = ch)),
                               '{}')
                 FROM unnest(e.choices) AS ch)), '{}')
      FROM editions e JOIN cases c ON c.edition_id = e.id
     WHERE e.id = p_edition $$;
ALTER FUNCTION edition_kept_counts(bigint) OWNER TO portal_workflow;
REVOKE ALL ON FUNCTION edition_kept_counts(bigint) FROM PUBLIC;

DROP FUNCTION edition_tally_check(integer);
CREATE FUNCTION edition_tally_check(p_number integer)
    RETURNS TABLE (edition_id bigint, recorded_digest text, recounted_digest text,
                   recorded_ballots text, recounted_ballots text, recorded_counts jsonb,
                   recounted_counts jsonb, kept_counts jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT e.id, t.digest, ballots_digest(l.csv), t.ballots, l.csv, t.counts,
           edition_recount(e.id), edition_kept_counts(e.id)
      FROM editions e JOIN edition_tallies t ON t.edition_id = e.id,
           LATERAL (SELECT edition_ballots_csv(e.id) AS csv) l
     WHERE e.number = p_number $$;
ALTER FUNCTION edition_tally_check(integer) OWNER TO portal_workflow;
REVOKE ALL ON FUNCTION edition_tally_check(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION edition_tally_check(integer) TO portal_owner;

-- ---- exports a spreadsheet cannot be tricked by ------------------------------------

-- A CSV cell for a spreadsheet: text that would start a formula (= + - @,
-- a tab or a carriage return) is written with a leading apostrophe.
CREATE FUNCTION csv_cell(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT csv_field(CASE WHEN t ~ E'^[=+@\t\r-]' THEN '''' || t ELSE t END) $$;
GRANT EXECUTE ON FUNCTION csv_cell(text) TO portal_app;

-- Choices may not start like a formula either (they are in the ballot list).
CREATE OR REPLACE FUNCTION edition_choices_valid(c text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT cardinality(c) BETWEEN 2 AND 6 AND array_ndims(c) = 1
       AND NOT EXISTS (SELECT 1 FROM unnest(c) AS x
                        WHERE x IS NULL OR length(x) NOT BETWEEN 1 AND 20 OR x <> btrim(x)
                           OR x ~ '^[=+@-]')
       AND (SELECT count(DISTINCT x) FROM unnest(c) AS x) = cardinality(c) $$;

-- ---- what was published stays as it was published --------------------------------------

CREATE FUNCTION editions_fixed_once_open() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state <> 'published'
       AND (NEW.number, NEW.title) IS DISTINCT FROM (OLD.number, OLD.title) THEN
        RAISE EXCEPTION 'an edition''s number and title are fixed once its vote has opened'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER editions_fixed_once_open BEFORE UPDATE ON editions
    FOR EACH ROW EXECUTE FUNCTION editions_fixed_once_open();

-- The community, street and committee a case was published with.
ALTER TABLE cases ADD COLUMN published_as jsonb;

CREATE FUNCTION cases_remember_publication() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    SELECT jsonb_build_object('community_name', m.name, 'street_name', s.name,
                              'committee', jsonb_build_object(
                                  'elected_on', m.committee_elected_on,
                                  'size', m.committee_size,
                                  'secretary_name', m.secretary_name,
                                  'secretary_post', m.secretary_post))
      INTO NEW.published_as
      FROM communities m JOIN streets s ON s.id = m.street_id
     WHERE m.id = NEW.community_id;
    RETURN NEW;
END $$;
CREATE TRIGGER cases_remember_publication BEFORE UPDATE OF state ON cases
    FOR EACH ROW WHEN (OLD.state = 'review' AND NEW.state = 'published')
    EXECUTE FUNCTION cases_remember_publication();

-- The public case: as published, counted from the tally once closed.
CREATE OR REPLACE VIEW public_case_docs WITH (security_invoker = true) AS
SELECT c.id, c.edition_id, e.number AS edition_number, json_build_object(
           'id', c.id, 'state', c.state, 'title', c.title, 'problem', c.problem,
           'actions', c.actions,
           'testimonial', json_build_object('text', c.testimonial_text,
                                            'speaker', c.testimonial_speaker,
                                            'post', c.testimonial_post),
           'photos', coalesce((SELECT json_agg(json_build_object(
                                   'id', p.id, 'url', '/api/photos/' || p.sha256,
                                   'caption', p.caption, 'width', p.width,
                                   'height', p.height) ORDER BY p.position)
                                 FROM case_photos p WHERE p.case_id = c.id), '[]'),
           'community_id', c.community_id,
           'community_name', coalesce(c.published_as ->> 'community_name', m.name),
           'street_id', c.street_id,
           'street_name', coalesce(c.published_as ->> 'street_name', s.name),
           'committee', coalesce((c.published_as -> 'committee')::json,
                                 json_build_object('elected_on', m.committee_elected_on,
                                                   'size', m.committee_size,
                                                   'secretary_name', m.secretary_name,
                                                   'secretary_post', m.secretary_post)),
           'edition', json_build_object('number', e.number, 'title', e.title,
                                        'district_name', d.name,
                                        'state', e.state,
                                        'closes_at', shanghai_time(e.closes_at),
                                        'closed_at', shanghai_time(e.closed_at),
                                        'voting', edition_voting_now(e)),
           'choices', to_json(e.choices),
           'votes', case_votes(c.id, e.id, e.choices),
           'corrections', case_corrections(c.id)) AS doc
  FROM cases c
  JOIN editions e ON e.id = c.edition_id
  JOIN districts d ON d.id = e.district_id
  JOIN communities m ON m.id = c.community_id
  JOIN streets s ON s.id = c.street_id
 WHERE c.state IN ('published', 'voting', 'closed');

CREATE OR REPLACE VIEW public_edition_summaries WITH (security_invoker = true) AS
SELECT e.id, e.number, json_build_object(
           'number', e.number, 'title', e.title, 'published_on', e.published_on,
           'district_name', (SELECT d.name FROM districts d WHERE d.id = e.district_id),
           'state', e.state, 'closes_at', shanghai_time(e.closes_at),
           'voting', edition_voting_now(e),
           'cases', coalesce((SELECT json_agg(json_build_object(
                                  'id', c.id, 'title', c.title,
                                  'community_name',
                                  coalesce(c.published_as ->> 'community_name', m.name),
                                  'street_name',
                                  coalesce(c.published_as ->> 'street_name', s.name)) ORDER BY c.id)
                                FROM cases c JOIN communities m ON m.id = c.community_id
                                JOIN streets s ON s.id = c.street_id
                               WHERE c.edition_id = e.id
                                 AND c.state IN ('published', 'voting', 'closed')), '[]'))
           AS doc
  FROM editions e
 WHERE e.state <> 'published'
    OR EXISTS (SELECT 1 FROM cases c WHERE c.edition_id = e.id
                AND c.state IN ('published', 'voting', 'closed'));

CREATE OR REPLACE VIEW edition_docs WITH (security_invoker = true) AS
SELECT e.id, e.number, e.version, jsonb_build_object(
           'id', e.id, 'number', e.number, 'title', e.title, 'published_on', e.published_on,
           'state', e.state, 'closes_at', shanghai_time(e.closes_at),
           'opened_at', shanghai_time(e.opened_at), 'closed_at', shanghai_time(e.closed_at),
           'version', e.version, 'choices', to_jsonb(e.choices),
           'cases', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                  'id', c.id, 'title', c.title, 'state', c.state,
                                  'community_id', c.community_id, 'community_name', m.name,
                                  'street_name', s.name,
                                  'votes', case_votes(c.id, e.id, e.choices)) ORDER BY c.id)
                                FROM cases c JOIN communities m ON m.id = c.community_id
                                JOIN streets s ON s.id = c.street_id
                               WHERE c.edition_id = e.id), '[]')) AS doc
  FROM editions e;

CREATE OR REPLACE FUNCTION case_results(p_case bigint, p_choices text[]) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
    WITH counted AS (
        SELECT t.ch, t.ord, coalesce((case_votes(p_case, (SELECT c.edition_id FROM cases c
                                                           WHERE c.id = p_case), p_choices)
                                      ->> t.ch)::bigint, 0) AS n
          FROM unnest(p_choices) WITH ORDINALITY AS t (ch, ord)),
    total AS (SELECT sum(n)::bigint AS n FROM counted)
    SELECT jsonb_build_object(
               'total', total.n,
               'first_choice_share', CASE WHEN total.n = 0 THEN 0 ELSE round(
                   (SELECT n FROM counted WHERE ord = 1)::numeric / total.n, 4) END)
      FROM total $$;

CREATE OR REPLACE FUNCTION edition_results(p_edition bigint)
    RETURNS TABLE (doc json, csv text)
    LANGUAGE sql STABLE AS $$
    WITH e AS (SELECT * FROM editions WHERE id = p_edition),
    rows AS (
        SELECT c.id, c.title, s.name AS street_name, m.name AS community_name,
               case_votes(c.id, e.id, e.choices) AS votes, case_results(c.id, e.choices) AS r
          FROM e JOIN cases c ON c.edition_id = e.id
          JOIN communities m ON m.id = c.community_id JOIN streets s ON s.id = c.street_id
         WHERE c.state IN ('published', 'voting', 'closed'))
    SELECT json_build_object(
               'edition', json_build_object('id', e.id, 'number', e.number, 'title', e.title,
                                            'state', e.state,
                                            'closes_at', shanghai_time(e.closes_at),
                                            'closed_at', shanghai_time(e.closed_at)),
               'choices', to_json(e.choices),
               'cases', coalesce((SELECT json_agg(json_build_object(
                                      'id', r.id, 'title', r.title, 'street_name', r.street_name,
                                      'community_name', r.community_name, 'votes', r.votes,
                                      'total', (r.r ->> 'total')::bigint,
                                      'first_choice_share', (r.r ->> 'first_choice_share')::numeric)
                                      ORDER BY r.id) FROM rows r), '[]'),
               'total', coalesce((SELECT sum((r.r ->> 'total')::bigint) FROM rows r), 0),
               'tally', (SELECT json_build_object('digest', t.digest,
                                                  'closed_at', shanghai_time(t.closed_at),
                                                  'votes', t.votes)
                           FROM edition_tallies t WHERE t.edition_id = e.id)),
           E'\ufeff' || 'edition,case_id,street,community,title,'
           || (SELECT string_agg(csv_cell(ch), ',' ORDER BY o)
                 FROM unnest(e.choices) WITH ORDINALITY AS x (ch, o))
           || ',total,' || csv_cell('share_' || e.choices[1]) || E'\r\n'
           || coalesce((SELECT string_agg(
                  e.number || ',' || r.id || ',' || csv_cell(r.street_name) || ','
                  || csv_cell(r.community_name) || ',' || csv_cell(r.title) || ','
                  || (SELECT string_agg((r.votes ->> ch), ',' ORDER BY o)
                        FROM unnest(e.choices) WITH ORDINALITY AS x (ch, o))
                  || ',' || (r.r ->> 'total') || ',' || (r.r ->> 'first_choice_share')
                  || E'\r\n', '' ORDER BY r.id) FROM rows r), '')
      FROM e $$;

CREATE OR REPLACE FUNCTION column_standings() RETURNS TABLE (doc json, csv text)
    LANGUAGE sql STABLE AS $$
    WITH rows AS (
        SELECT e.number, e.title AS edition_title, e.state AS edition_state, e.choices[1] AS first,
               c.id, c.title, s.name AS street_name, m.name AS community_name,
               case_votes(c.id, e.id, e.choices) AS votes, case_results(c.id, e.choices) AS r
          FROM editions e JOIN cases c ON c.edition_id = e.id
          JOIN communities m ON m.id = c.community_id JOIN streets s ON s.id = c.street_id
         WHERE e.state IN ('voting', 'closed') AND c.state IN ('voting', 'closed')),
    ranked AS (
        SELECT rows.*, rank() OVER (ORDER BY (r ->> 'first_choice_share')::numeric DESC,
                                             (r ->> 'total')::bigint DESC) AS place
          FROM rows)
    SELECT coalesce(json_agg(json_build_object(
               'rank', place, 'edition_number', number, 'edition_title', edition_title,
               'edition_state', edition_state, 'case_id', id, 'title', title,
               'street_name', street_name, 'community_name', community_name,
               'votes', votes, 'total', (r ->> 'total')::bigint, 'first_choice', first,
               'first_choice_share', (r ->> 'first_choice_share')::numeric)
               ORDER BY place, number, id), '[]'),
           E'\ufeff' || 'rank,edition,case_id,street,community,title,first_choice,'
           || 'first_choice_votes,total,first_choice_share' || E'\r\n'
           || coalesce(string_agg(place || ',' || number || ',' || id || ','
                                  || csv_cell(street_name) || ',' || csv_cell(community_name)
                                  || ',' || csv_cell(title) || ',' || csv_cell(first) || ','
                                  || (votes ->> first) || ',' || (r ->> 'total') || ','
                                  || (r ->> 'first_choice_share') || E'\r\n', ''
                                  ORDER BY place, number, id), '')
      FROM ranked $$;


-- ---- corrections that keep the record straight -------------------------------------

-- A correction names the version it corrects (two reviewers never
-- overwrite each other), changes something, and leaves the case complete
-- as submit would require. Outcomes beyond case_transition's:
-- version_required, unchanged, incomplete.
CREATE OR REPLACE FUNCTION case_correct(p_case bigint, p_note text, p_content jsonb, expected_version integer)
    RETURNS TABLE (outcome text, state text, version integer, allowed text[], detail text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c cases;
    r text := portal_role();
    new_title text;
    new_problem text;
    new_actions jsonb;
    new_text text;
    new_speaker text;
    new_post text;
    photos_now jsonb;
    photos_wanted jsonb;
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
    ELSIF p_content IS NULL OR jsonb_typeof(p_content) <> 'object' OR p_content = '{}' THEN
        outcome := 'bad_content';
        detail := 'a correction names the corrected fields in content';
    END IF;
    IF outcome IS NOT NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;
    new_title := coalesce(p_content ->> 'title', c.title);
    new_problem := coalesce(p_content ->> 'problem', c.problem);
    new_actions := coalesce(p_content -> 'actions', c.actions);
    new_text := coalesce(p_content -> 'testimonial' ->> 'text', c.testimonial_text);
    new_speaker := coalesce(p_content -> 'testimonial' ->> 'speaker', c.testimonial_speaker);
    new_post := coalesce(p_content -> 'testimonial' ->> 'post', c.testimonial_post);
    IF btrim(new_title) = '' OR btrim(new_problem) = '' OR jsonb_typeof(new_actions) <> 'array'
       OR jsonb_array_length(new_actions) = 0 OR btrim(new_text) = '' OR btrim(new_speaker) = '' THEN
        outcome := 'incomplete';
        detail := 'a corrected case still needs a title, the problem, at least one action and the testimonial with its speaker';
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'caption', p.caption)
                              ORDER BY p.position), '[]')
      INTO photos_now FROM case_photos p WHERE p.case_id = p_case;
    IF p_content ? 'photos' AND jsonb_typeof(p_content -> 'photos') = 'array' THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', (t.x ->> 'id')::bigint,
                   'caption', coalesce(t.x ->> 'caption',
                                       (SELECT p.caption FROM case_photos p
                                         WHERE p.case_id = p_case
                                           AND p.id = (t.x ->> 'id')::bigint))) ORDER BY t.ord),
                   '[]')
          INTO photos_wanted
          FROM jsonb_array_elements(p_content -> 'photos') WITH ORDINALITY AS t (x, ord);
    ELSE
        photos_wanted := photos_now;
    END IF;
    IF (new_title, new_problem, new_actions, new_text, new_speaker, new_post, photos_wanted)
       IS NOT DISTINCT FROM (c.title, c.problem, c.actions, c.testimonial_text,
                             c.testimonial_speaker, c.testimonial_post, photos_now) THEN
        outcome := 'unchanged';
        detail := 'the correction changes nothing';
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
    UPDATE cases AS k
       SET title = new_title, problem = new_problem, actions = new_actions,
           testimonial_text = new_text, testimonial_speaker = new_speaker,
           testimonial_post = new_post
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

-- ---- the close waits for the votes under way before it locks any case -------------

-- Found by the test of votes racing the close: the close locked its cases,
-- then waited (in the tally trigger) for the votes under way, while each of
-- those waited for its case's row (the foreign key of the vote) - a
-- deadlock. The close now takes the edition's vote lock first.
CREATE OR REPLACE FUNCTION edition_move(p_edition bigint, p_action text, p_closes_at timestamptz,
                             p_role text, expected_version integer)
    RETURNS TABLE (outcome text, state text, version integer, allowed text[], detail text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    e     editions;
    t     case_actions;
    moved integer := 0;
    c     cases;
    v     integer;
BEGIN
    SELECT * INTO e FROM editions WHERE id = p_edition FOR UPDATE;
    IF FOUND AND p_action = 'close' THEN
        -- before any case is locked: a vote under way holds this lock
        -- shared and needs its case's key (its foreign key) to finish
        PERFORM pg_advisory_xact_lock(edition_vote_lock_key(p_edition));
    END IF;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found', NULL::text, NULL::integer, NULL::text[], NULL::text;
        RETURN;
    END IF;
    state := e.state;
    version := e.version;
    allowed := allowed_actions(e.state, p_role, 'edition');
    SELECT * INTO t FROM case_actions a
     WHERE a.action = p_action AND a.from_state = e.state AND a.role = p_role
       AND a.scope = 'edition';
    IF expected_version IS NOT NULL AND expected_version <> e.version THEN
        outcome := 'stale';
    ELSIF NOT EXISTS (SELECT 1 FROM case_actions a WHERE a.action = p_action
                                                     AND a.scope = 'edition') THEN
        outcome := 'unknown';
    ELSIF t.action IS NULL THEN
        outcome := CASE WHEN EXISTS (SELECT 1 FROM case_actions a
                                      WHERE a.action = p_action AND a.from_state = e.state
                                        AND a.scope = 'edition')
                        THEN 'forbidden' ELSE 'not_allowed' END;
    ELSIF p_action = 'open' AND coalesce(p_closes_at, e.closes_at) IS NULL THEN
        outcome := 'deadline';
        detail := 'opening the vote needs closes_at, the deadline';
    ELSIF p_action = 'open' AND coalesce(p_closes_at, e.closes_at) <= now() THEN
        outcome := 'deadline';
        detail := 'the deadline must be in the future';
    ELSIF p_action = 'open' AND NOT EXISTS (SELECT 1 FROM cases k WHERE k.edition_id = e.id) THEN
        outcome := 'empty';
        detail := 'an edition opens for voting with at least one case in it';
    END IF;
    IF outcome IS NOT NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;
    FOR c IN SELECT * FROM cases k WHERE k.edition_id = e.id AND k.state = t.from_state
             ORDER BY k.id FOR UPDATE LOOP
        UPDATE cases k SET state = t.to_state WHERE k.id = c.id RETURNING k.version INTO v;
        INSERT INTO case_events (case_id, action, from_state, to_state, actor_id, actor,
                                 edition_id, version, request_id)
        VALUES (c.id, p_action, c.state, t.to_state,
                CASE WHEN p_role = 'system' THEN NULL ELSE portal_user_id() END,
                CASE WHEN p_role = 'system' THEN 'system' ELSE portal_actor() END,
                e.id, v, nullif(current_setting('portal.request_id', true), ''));
        moved := moved + 1;
    END LOOP;
    UPDATE editions ed
       SET state = t.to_state, -- an edition's states are its cases' from published on
           closes_at = CASE WHEN p_action = 'open' THEN coalesce(p_closes_at, ed.closes_at)
                            ELSE ed.closes_at END,
           opened_at = CASE WHEN p_action = 'open' THEN now() ELSE ed.opened_at END,
           closed_at = CASE WHEN p_action = 'close' THEN now() ELSE ed.closed_at END
     WHERE ed.id = e.id
    RETURNING ed.state, ed.version INTO state, version;
    outcome := 'ok';
    detail := moved || ' cases moved';
    allowed := allowed_actions(state, p_role, 'edition');
    RETURN NEXT;
END $$;
