-- A count the public can check. When an edition's vote closes (by hand or
-- at its deadline), the ballot list it publishes (one row per counted vote:
-- case, choice, receipt) is fixed by its SHA-256, recorded with the counts
-- in edition_tallies, which nobody may change. The list served later is
-- made again from the votes, so a vote altered behind the application's
-- back (by a superuser) makes the served list stop matching its digest,
-- and `portalctl tally verify` names the difference.

-- ---- the ballot list ---------------------------------------------------------

-- A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
CREATE FUNCTION csv_field(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '[,"\r\n]' THEN '"' || replace(t, '"', '""') || '"' ELSE t END $$;

-- The ballot list of an edition, as published: UTF-8, no BOM, LF line ends,
-- the header "case_id,choice,receipt", then one row per counted vote in
-- case id order, then receipt order (receipts are random, so the order says
-- nothing about when anyone voted). Reads every vote: owned by
-- portal_workflow and run only through the functions below.
CREATE FUNCTION edition_ballots_csv(p_edition bigint) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT 'case_id,choice,receipt' || E'\n'
           || coalesce(string_agg(v.case_id::text || ',' || csv_field(v.choice) || ','
                                  || coalesce(v.receipt, '') || E'\n', ''
                                  ORDER BY v.case_id, v.receipt COLLATE "C", v.id), '')
      FROM votes v JOIN cases c ON c.id = v.case_id
     WHERE c.edition_id = p_edition $$;

CREATE FUNCTION ballots_digest(csv text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'sha256:' || encode(sha256(convert_to(csv, 'UTF8')), 'hex') $$;

-- {case id: {choice: count}} counted from the votes themselves.
CREATE FUNCTION edition_recount(p_edition bigint) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(jsonb_object_agg(c.id::text, (
               SELECT coalesce(jsonb_object_agg(ch, (SELECT count(*) FROM votes v
                                                     WHERE v.case_id = c.id AND v.choice = ch)),
                               '{}')
                 FROM unnest(e.choices) AS ch)), '{}')
      FROM editions e JOIN cases c ON c.edition_id = e.id
     WHERE e.id = p_edition $$;

-- ---- the record made at close ------------------------------------------------------

CREATE TABLE edition_tallies (
    edition_id bigint PRIMARY KEY REFERENCES editions (id),
    closed_at  timestamptz NOT NULL,
    digest     text NOT NULL CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
    counts     jsonb NOT NULL,
    ballots    text NOT NULL, -- the list as it was at close, for verify to name a difference
    votes      bigint NOT NULL
);
CREATE TRIGGER edition_tallies_append_only BEFORE UPDATE OR DELETE ON edition_tallies
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER edition_tallies_no_truncate BEFORE TRUNCATE ON edition_tallies
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- Votes and the close of their edition are ordered by one lock per
-- edition: every vote holds it shared until it commits, the close takes it
-- whole. So the close waits for the votes already on their way (they are
-- in the list), and a vote that comes after waits for the close and then
-- finds the edition closed. Votes do not wait for each other.
CREATE FUNCTION edition_vote_lock_key(p_edition bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (x'5041' :: bigint << 48) | (p_edition & x'ffffffffffff' :: bigint) $$;

-- The deadline, state and choice rule of migrations 0003 and 0006, now
-- checked under the edition's lock, after waiting for a close under way.
CREATE OR REPLACE FUNCTION votes_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    the_edition bigint;
    allowed text[];
BEGIN
    SELECT c.edition_id INTO the_edition FROM cases c WHERE c.id = NEW.case_id;
    IF the_edition IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock_shared(edition_vote_lock_key(the_edition));
    END IF;
    -- a statement of its own: it sees a close that committed while we waited
    SELECT e.choices INTO allowed
      FROM cases c JOIN editions e ON e.id = c.edition_id
     WHERE c.id = NEW.case_id AND c.state = 'voting' AND e.state = 'voting'
       AND clock_timestamp() < e.closes_at;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'voting on this case is closed' USING ERRCODE = 'check_violation';
    END IF;
    IF NOT NEW.choice = ANY (allowed) THEN
        RAISE EXCEPTION 'not a choice of this edition' USING ERRCODE = 'check_violation';
    END IF;
    NEW.at := clock_timestamp();
    RETURN NEW;
END $$;

-- When an edition's vote closes: wait for the votes under way, then fix
-- the list by its digest.
CREATE FUNCTION editions_record_tally() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    list text;
BEGIN
    PERFORM pg_advisory_xact_lock(edition_vote_lock_key(NEW.id));
    list := edition_ballots_csv(NEW.id);
    INSERT INTO edition_tallies (edition_id, closed_at, digest, counts, ballots, votes)
    VALUES (NEW.id, coalesce(NEW.closed_at, now()), ballots_digest(list),
            edition_recount(NEW.id),
            list, (SELECT count(*) FROM votes v JOIN cases c ON c.id = v.case_id
                    WHERE c.edition_id = NEW.id));
    RETURN NULL;
END $$;
CREATE TRIGGER editions_record_tally AFTER UPDATE OF state ON editions
    FOR EACH ROW WHEN (OLD.state = 'voting' AND NEW.state = 'closed')
    EXECUTE FUNCTION editions_record_tally();

ALTER FUNCTION edition_ballots_csv(bigint) OWNER TO portal_workflow;
ALTER FUNCTION edition_recount(bigint) OWNER TO portal_workflow;
ALTER FUNCTION editions_record_tally() OWNER TO portal_workflow;
GRANT SELECT, INSERT ON edition_tallies TO portal_workflow;
GRANT SELECT (edition_id, closed_at, digest, counts, votes) ON edition_tallies TO portal_app;
GRANT SELECT ON edition_tallies TO portal_owner;

ALTER TABLE edition_tallies ENABLE ROW LEVEL SECURITY;
ALTER TABLE edition_tallies FORCE ROW LEVEL SECURITY;
CREATE POLICY edition_tallies_read ON edition_tallies FOR SELECT USING (true);
CREATE POLICY edition_tallies_workflow ON edition_tallies TO portal_workflow
    USING (true) WITH CHECK (true);

-- The published list of a closed edition, made again from the votes, and
-- the digest recorded at close; no row before the close (or for editions
-- that closed before this migration, which have no tally).
CREATE FUNCTION edition_ballots(p_number integer)
    RETURNS TABLE (csv text, digest text, recorded_digest text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT l.csv, ballots_digest(l.csv), t.digest
      FROM editions e JOIN edition_tallies t ON t.edition_id = e.id,
           LATERAL (SELECT edition_ballots_csv(e.id) AS csv) l
     WHERE e.number = p_number AND e.state = 'closed' $$;

-- What `portalctl tally verify` compares: the list recorded at close and
-- its digest, against the list and counts made again from the votes now.
CREATE FUNCTION edition_tally_check(p_number integer)
    RETURNS TABLE (edition_id bigint, recorded_digest text, recounted_digest text,
                   recorded_ballots text, recounted_ballots text, recorded_counts jsonb,
                   recounted_counts jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT e.id, t.digest, ballots_digest(l.csv), t.ballots, l.csv, t.counts,
           edition_recount(e.id)
      FROM editions e JOIN edition_tallies t ON t.edition_id = e.id,
           LATERAL (SELECT edition_ballots_csv(e.id) AS csv) l
     WHERE e.number = p_number $$;

ALTER FUNCTION edition_ballots(integer) OWNER TO portal_workflow;
ALTER FUNCTION edition_tally_check(integer) OWNER TO portal_workflow;
REVOKE ALL ON FUNCTION edition_ballots_csv(bigint), edition_recount(bigint),
    edition_ballots(integer), edition_tally_check(integer), editions_record_tally() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION edition_ballots(integer) TO portal_app;
GRANT EXECUTE ON FUNCTION edition_tally_check(integer) TO portal_owner;
GRANT EXECUTE ON FUNCTION edition_recount(bigint), edition_ballots_csv(bigint)
    TO portal_workflow;

-- The public edition carries its tally once closed.
CREATE OR REPLACE VIEW public_edition_docs WITH (security_invoker = true) AS
SELECT e.id, e.number, json_build_object(
           'number', e.number, 'title', e.title, 'published_on', e.published_on,
           'district_name', (SELECT d.name FROM districts d WHERE d.id = e.district_id),
           'state', e.state, 'closes_at', shanghai_time(e.closes_at),
           'closed_at', shanghai_time(e.closed_at), 'voting', edition_voting_now(e),
           'choices', to_json(e.choices),
           'cases', coalesce((SELECT json_agg(d.doc ORDER BY d.id) FROM public_case_docs d
                               WHERE d.edition_id = e.id), '[]'),
           'tally', (SELECT json_build_object('digest', t.digest,
                                              'closed_at', shanghai_time(t.closed_at),
                                              'votes', t.votes, 'counts', t.counts)
                       FROM edition_tallies t WHERE t.edition_id = e.id)) AS doc
  FROM editions e
 WHERE e.state <> 'published'
    OR EXISTS (SELECT 1 FROM cases c WHERE c.edition_id = e.id
                AND c.state IN ('published', 'voting', 'closed'));

-- ---- results the district can use ---------------------------------------------------

-- One case's results: {choice: count}, the total, each choice's share, and
-- the share of the edition's first choice (满意 by default), rounded to 4
-- places.
CREATE FUNCTION case_results(p_case bigint, p_choices text[]) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
    WITH counted AS (
        SELECT t.ch, t.ord, coalesce((SELECT sum(v.n) FROM vote_counts v
                                       WHERE v.case_id = p_case AND v.choice = t.ch), 0)::bigint
                                AS n
          FROM unnest(p_choices) WITH ORDINALITY AS t (ch, ord)),
    total AS (SELECT sum(n)::bigint AS n FROM counted)
    SELECT jsonb_build_object(
               'total', total.n,
               'first_choice_share', CASE WHEN total.n = 0 THEN 0 ELSE round(
                   (SELECT n FROM counted WHERE ord = 1)::numeric / total.n, 4) END)
      FROM total $$;

-- An edition's results for the district: per case the counts of every
-- choice, total and shares; the edition's totals. JSON and a spreadsheet's
-- CSV (UTF-8 with a BOM, so spreadsheet programs read Chinese right).
CREATE FUNCTION edition_results(p_edition bigint)
    RETURNS TABLE (doc json, csv text)
    LANGUAGE sql STABLE AS $$
    WITH e AS (SELECT * FROM editions WHERE id = p_edition),
    rows AS (
        SELECT c.id, c.title, s.name AS street_name, m.name AS community_name,
               vote_tally(c.id, e.choices) AS votes, case_results(c.id, e.choices) AS r
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
           || (SELECT string_agg(csv_field(ch), ',' ORDER BY o)
                 FROM unnest(e.choices) WITH ORDINALITY AS x (ch, o))
           || ',total,' || csv_field('share_' || e.choices[1]) || E'\r\n'
           || coalesce((SELECT string_agg(
                  e.number || ',' || r.id || ',' || csv_field(r.street_name) || ','
                  || csv_field(r.community_name) || ',' || csv_field(r.title) || ','
                  || (SELECT string_agg((r.votes ->> ch), ',' ORDER BY o)
                        FROM unnest(e.choices) WITH ORDINALITY AS x (ch, o))
                  || ',' || (r.r ->> 'total') || ',' || (r.r ->> 'first_choice_share')
                  || E'\r\n', '' ORDER BY r.id) FROM rows r), '')
      FROM e $$;

-- The column's standings: every case of an edition that has voted, best
-- share of its edition's first choice first (ties: more votes first).
CREATE FUNCTION column_standings() RETURNS TABLE (doc json, csv text)
    LANGUAGE sql STABLE AS $$
    WITH rows AS (
        SELECT e.number, e.title AS edition_title, e.state AS edition_state, e.choices[1] AS first,
               c.id, c.title, s.name AS street_name, m.name AS community_name,
               vote_tally(c.id, e.choices) AS votes, case_results(c.id, e.choices) AS r
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
                                  || csv_field(street_name) || ',' || csv_field(community_name)
                                  || ',' || csv_field(title) || ',' || csv_field(first) || ','
                                  || (votes ->> first) || ',' || (r ->> 'total') || ','
                                  || (r ->> 'first_choice_share') || E'\r\n', ''
                                  ORDER BY place, number, id), '')
      FROM ranked $$;

GRANT EXECUTE ON FUNCTION csv_field(text), ballots_digest(text), case_results(bigint, text[]),
    edition_results(bigint), column_standings() TO portal_app;

-- ---- corrections after publication -------------------------------------------------

-- Published text is what the public read: it changes only through a
-- recorded correction. The guard of migration 0003 now lets a case's text
-- change after draft when, and only when, case_correct() (running as
-- portal_workflow) says this case is being corrected.
CREATE OR REPLACE FUNCTION cases_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'draft' OR NEW.edition_id IS NOT NULL THEN
            RAISE EXCEPTION 'a case starts as a draft outside any edition'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        NEW.version := 1;
        NEW.created_at := now();
        NEW.updated_at := now();
        RETURN NEW;
    END IF;
    IF NEW.community_id <> OLD.community_id OR NEW.street_id <> OLD.street_id
       OR NEW.id <> OLD.id OR NEW.created_by IS DISTINCT FROM OLD.created_by THEN
        RAISE EXCEPTION 'a case stays with its community' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.state <> OLD.state OR NEW.edition_id IS DISTINCT FROM OLD.edition_id THEN
        IF current_user <> 'portal_workflow' THEN
            RAISE EXCEPTION 'a case changes state only through case_transition()'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.state <> OLD.state AND NOT EXISTS (
               SELECT 1 FROM case_actions
                WHERE from_state = OLD.state AND to_state = NEW.state) THEN
            RAISE EXCEPTION 'no action moves a case from % to %', OLD.state, NEW.state
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF OLD.state <> 'draft' AND (NEW.title, NEW.problem, NEW.actions, NEW.testimonial_text,
                                 NEW.testimonial_speaker, NEW.testimonial_post)
            IS DISTINCT FROM (OLD.title, OLD.problem, OLD.actions, OLD.testimonial_text,
                              OLD.testimonial_speaker, OLD.testimonial_post)
       AND NOT (current_user = 'portal_workflow'
                AND current_setting('portal.correcting', true) = OLD.id::text) THEN
        RAISE EXCEPTION 'only a draft''s text can change' USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END $$;

-- Corrects a published, voting or closed case's text: a reviewer's, with
-- the reason as the note. The change is a revision (so the earlier text
-- stays in the history) and an event "correct" from the state to itself;
-- the state and the votes are untouched. Outcomes as case_transition's.
CREATE FUNCTION case_correct(p_case bigint, p_note text, p_content jsonb, expected_version integer)
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

-- Every action on a case comes here: "correct" to case_correct, the
-- workflow's moves to case_transition (content is for corrections only).
CREATE FUNCTION case_act(p_case bigint, p_action text, p_note text, p_edition bigint,
                         expected_version integer, p_content jsonb)
    RETURNS TABLE (outcome text, state text, version integer, allowed text[], detail text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_action = 'correct' THEN
        RETURN QUERY SELECT * FROM case_correct(p_case, p_note, p_content, expected_version);
    ELSIF p_content IS NOT NULL THEN
        RETURN QUERY SELECT CASE WHEN c.id IS NULL THEN 'not_found' ELSE 'bad_content' END,
                            c.state, c.version, allowed_actions(c.state, portal_role(), 'case'),
                            'only a correction carries content'::text
                       FROM (SELECT 1) AS one
                       LEFT JOIN cases c ON c.id = p_case AND case_visible(c.state, c.street_id);
    ELSE
        RETURN QUERY SELECT * FROM case_transition(p_case, p_action, p_note, p_edition,
                                                   expected_version);
    END IF;
END $$;

ALTER FUNCTION case_correct(bigint, text, jsonb, integer) OWNER TO portal_workflow;
ALTER FUNCTION case_act(bigint, text, text, bigint, integer, jsonb) OWNER TO portal_workflow;
REVOKE ALL ON FUNCTION case_correct(bigint, text, jsonb, integer),
    case_act(bigint, text, text, bigint, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION case_act(bigint, text, text, bigint, integer, jsonb) TO portal_app;
GRANT EXECUTE ON FUNCTION case_correct(bigint, text, jsonb, integer),
    case_transition(bigint, text, text, bigint, integer) TO portal_workflow;

-- The corrections a case has had, for the public: when and why (the
-- events themselves are for the staff).
CREATE FUNCTION case_corrections(p_case bigint) RETURNS json
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(json_agg(json_build_object('at', shanghai_time(e.at), 'reason', e.note)
                             ORDER BY e.id), '[]')
      FROM case_events e JOIN cases c ON c.id = e.case_id
     WHERE e.case_id = p_case AND e.action = 'correct'
       AND c.state IN ('published', 'voting', 'closed') $$;
ALTER FUNCTION case_corrections(bigint) OWNER TO portal_workflow;
GRANT EXECUTE ON FUNCTION case_corrections(bigint) TO portal_app;

-- The public case shows its corrections, and when its edition closed.
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
           'community_id', c.community_id, 'community_name', m.name,
           'street_id', c.street_id, 'street_name', s.name,
           'committee', json_build_object('elected_on', m.committee_elected_on,
                                          'size', m.committee_size,
                                          'secretary_name', m.secretary_name,
                                          'secretary_post', m.secretary_post),
           'edition', json_build_object('number', e.number, 'title', e.title,
                                        'district_name', d.name,
                                        'state', e.state,
                                        'closes_at', shanghai_time(e.closes_at),
                                        'closed_at', shanghai_time(e.closed_at),
                                        'voting', edition_voting_now(e)),
           'choices', to_json(e.choices),
           'votes', vote_tally(c.id, e.choices),
           'corrections', case_corrections(c.id)) AS doc
  FROM cases c
  JOIN editions e ON e.id = c.edition_id
  JOIN districts d ON d.id = e.district_id
  JOIN communities m ON m.id = c.community_id
  JOIN streets s ON s.id = c.street_id
 WHERE c.state IN ('published', 'voting', 'closed');
