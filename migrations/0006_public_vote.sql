-- The public portal and its vote: each edition's choices, the vote itself
-- (one per voter per case, capped per client address), counts that are
-- exact, never go backwards and do not make every vote on a case wait for
-- one row, and the documents the public reads.

-- ---- choices ----------------------------------------------------------------

-- 2 to 6 options, each 1 to 20 characters, all different.
CREATE FUNCTION edition_choices_valid(c text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT cardinality(c) BETWEEN 2 AND 6 AND array_ndims(c) = 1
       AND NOT EXISTS (SELECT 1 FROM unnest(c) AS x
                        WHERE x IS NULL OR length(x) NOT BETWEEN 1 AND 20 OR x <> btrim(x))
       AND (SELECT count(DISTINCT x) FROM unnest(c) AS x) = cardinality(c) $$;

-- What an edition asks unless its reviewer says otherwise.
CREATE FUNCTION edition_default_choices() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ARRAY['满意', '基本满意', '不满意'] $$;

ALTER TABLE editions
    ADD COLUMN choices text[] NOT NULL DEFAULT edition_default_choices()
        CHECK (edition_choices_valid(choices));

-- The choices are what voters answer: they are fixed once the vote opens.
CREATE FUNCTION editions_choices_frozen() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.choices IS DISTINCT FROM OLD.choices AND OLD.state <> 'published' THEN
        RAISE EXCEPTION 'the choices are fixed once the vote has opened'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER editions_choices_frozen BEFORE UPDATE ON editions
    FOR EACH ROW EXECUTE FUNCTION editions_choices_frozen();

GRANT INSERT (choices), UPDATE (choices) ON editions TO portal_app;

-- ---- votes --------------------------------------------------------------------

-- The receipt a voter keeps: random, known only to the voter until the
-- edition's ballot list is published.
ALTER TABLE votes ADD COLUMN receipt text UNIQUE CHECK (receipt ~ '^[0-9a-f]{32}$');

-- A vote names one of its edition's choices (the deadline and state rule of
-- migration 0003 stays as it was).
CREATE OR REPLACE FUNCTION votes_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    allowed text[];
BEGIN
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

-- Counts, kept beside the votes in the same transaction. Each (case,
-- choice) is split over 16 rows by the voter, so concurrent votes on one
-- case rarely wait for each other; the count is their sum. A count only
-- grows and is never deleted, so what the public sees never goes back.
CREATE TABLE vote_counts (
    case_id bigint NOT NULL REFERENCES cases (id),
    choice  text NOT NULL,
    shard   smallint NOT NULL CHECK (shard BETWEEN 0 AND 15),
    n       bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (case_id, choice, shard)
);

CREATE FUNCTION vote_counts_only_grow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'vote counts only grow' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.n < OLD.n OR (NEW.case_id, NEW.choice, NEW.shard)
            IS DISTINCT FROM (OLD.case_id, OLD.choice, OLD.shard) THEN
        RAISE EXCEPTION 'vote counts only grow' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER vote_counts_only_grow BEFORE UPDATE OR DELETE ON vote_counts
    FOR EACH ROW EXECUTE FUNCTION vote_counts_only_grow();
CREATE TRIGGER vote_counts_no_truncate BEFORE TRUNCATE ON vote_counts
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- Whoever inserts a vote, its count follows.
CREATE FUNCTION votes_count() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO vote_counts AS v (case_id, choice, shard, n)
    VALUES (NEW.case_id, NEW.choice, hashtext(NEW.voter) & 15, 1)
    ON CONFLICT (case_id, choice, shard) DO UPDATE SET n = v.n + 1;
    RETURN NULL;
END $$;
ALTER FUNCTION votes_count() OWNER TO portal_workflow;
CREATE TRIGGER votes_count AFTER INSERT ON votes FOR EACH ROW EXECUTE FUNCTION votes_count();

-- Votes per case from one client address (a keyed hash of it, made by
-- portald: the address itself is never stored).
CREATE TABLE vote_addresses (
    case_id bigint NOT NULL REFERENCES cases (id),
    address text NOT NULL CHECK (address ~ '^[0-9a-f]{32}$'),
    n       integer NOT NULL CHECK (n >= 0),
    PRIMARY KEY (case_id, address)
);

-- Casts a vote. Outcomes: 'counted' (with the vote's receipt), 'repeat'
-- (this voter's vote on this case was counted before: its choice and
-- receipt, unchanged), 'not_found' (no case the public may read),
-- 'closed' (not in voting, or past the deadline by the database's clock),
-- 'bad_choice'. votes is the case's counts after the vote, in the
-- edition's order. Past p_address_cap votes from one address on one case
-- it raises SQLSTATE PV429, which rolls the vote back. Two votes of one
-- voter at once: the unique (case, voter) makes the second wait for the
-- first and then find it, so it is never counted twice.
CREATE FUNCTION vote_cast(p_case bigint, p_voter text, p_choice text, p_receipt text,
                          p_address text, p_address_cap integer)
    RETURNS TABLE (outcome text, choice text, receipt text, votes json)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c_state text;
    e_state text;
    e_closes timestamptz;
    e_choices text[];
    counted bigint;
    from_address integer;
BEGIN
    SELECT c.state, e.state, e.closes_at, e.choices INTO c_state, e_state, e_closes, e_choices
      FROM cases c JOIN editions e ON e.id = c.edition_id
     WHERE c.id = p_case AND c.state IN ('published', 'voting', 'closed');
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    IF c_state <> 'voting' OR e_state <> 'voting' OR clock_timestamp() >= e_closes THEN
        outcome := 'closed';
        RETURN NEXT;
        RETURN;
    END IF;
    IF NOT p_choice = ANY (e_choices) THEN
        outcome := 'bad_choice';
        votes := to_json(e_choices);
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO votes AS v (case_id, choice, voter, receipt)
    VALUES (p_case, p_choice, p_voter, p_receipt)
    ON CONFLICT (case_id, voter) DO NOTHING
    RETURNING v.id INTO counted;
    IF counted IS NULL THEN
        outcome := 'repeat';
        SELECT v.choice, v.receipt INTO choice, receipt
          FROM votes v WHERE v.case_id = p_case AND v.voter = p_voter;
    ELSE
        INSERT INTO vote_addresses AS a (case_id, address, n) VALUES (p_case, p_address, 1)
        ON CONFLICT (case_id, address) DO UPDATE SET n = a.n + 1 WHERE a.n < p_address_cap
        RETURNING a.n INTO from_address;
        IF from_address IS NULL THEN
            RAISE EXCEPTION 'too many votes on this case from one address'
                USING ERRCODE = 'PV429';
        END IF;
        outcome := 'counted';
        choice := p_choice;
        receipt := p_receipt;
    END IF;
    votes := vote_tally(p_case, e_choices);
    RETURN NEXT;
END $$;

-- {choice: count} for a case, every choice in the edition's order.
CREATE FUNCTION vote_tally(p_case bigint, p_choices text[]) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_object_agg(t.ch, coalesce(
               (SELECT sum(v.n) FROM vote_counts v
                 WHERE v.case_id = p_case AND v.choice = t.ch), 0)::bigint ORDER BY t.ord), '{}')
      FROM unnest(p_choices) WITH ORDINALITY AS t (ch, ord) $$;

ALTER FUNCTION vote_cast(bigint, text, text, text, text, integer) OWNER TO portal_workflow;
REVOKE ALL ON FUNCTION vote_cast(bigint, text, text, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vote_cast(bigint, text, text, text, text, integer) TO portal_app;
GRANT EXECUTE ON FUNCTION vote_tally(bigint, text[]) TO portal_app, portal_workflow;

GRANT SELECT, INSERT ON votes TO portal_workflow;
GRANT INSERT (receipt) ON votes TO portal_app;
GRANT SELECT, INSERT, UPDATE ON vote_counts, vote_addresses TO portal_workflow;
GRANT SELECT ON vote_counts TO portal_app;

-- votes: nobody reads another's vote through the application; the
-- workflow reads a voter's own to answer a repeat.
CREATE POLICY votes_workflow ON votes TO portal_workflow USING (true) WITH CHECK (true);
ALTER TABLE vote_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE vote_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY vote_counts_read ON vote_counts FOR SELECT USING (true);
CREATE POLICY vote_counts_workflow ON vote_counts TO portal_workflow
    USING (true) WITH CHECK (true);
ALTER TABLE vote_addresses ENABLE ROW LEVEL SECURITY;
ALTER TABLE vote_addresses FORCE ROW LEVEL SECURITY;
CREATE POLICY vote_addresses_workflow ON vote_addresses TO portal_workflow
    USING (true) WITH CHECK (true);

-- ---- what the public reads ---------------------------------------------------

-- Whether an edition takes votes now, by the database's clock.
CREATE FUNCTION edition_voting_now(e editions) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT e.state = 'voting' AND e.closes_at IS NOT NULL AND clock_timestamp() < e.closes_at $$;

-- One case as the public reads it. Only published, voting and closed cases
-- exist for the public (row security says so too).
CREATE VIEW public_case_docs WITH (security_invoker = true) AS
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
                                        'voting', edition_voting_now(e)),
           'choices', to_json(e.choices),
           'votes', vote_tally(c.id, e.choices)) AS doc
  FROM cases c
  JOIN editions e ON e.id = c.edition_id
  JOIN districts d ON d.id = e.district_id
  JOIN communities m ON m.id = c.community_id
  JOIN streets s ON s.id = c.street_id
 WHERE c.state IN ('published', 'voting', 'closed');

-- An edition with its cases, as the public reads it.
CREATE VIEW public_edition_docs WITH (security_invoker = true) AS
SELECT e.id, e.number, json_build_object(
           'number', e.number, 'title', e.title, 'published_on', e.published_on,
           'district_name', (SELECT d.name FROM districts d WHERE d.id = e.district_id),
           'state', e.state, 'closes_at', shanghai_time(e.closes_at),
           'closed_at', shanghai_time(e.closed_at), 'voting', edition_voting_now(e),
           'choices', to_json(e.choices),
           'cases', coalesce((SELECT json_agg(d.doc ORDER BY d.id) FROM public_case_docs d
                               WHERE d.edition_id = e.id), '[]')) AS doc
  FROM editions e
 WHERE e.state <> 'published'
    OR EXISTS (SELECT 1 FROM cases c WHERE c.edition_id = e.id
                AND c.state IN ('published', 'voting', 'closed'));

-- The column's index: every edition the public may read, newest first,
-- with the communities and streets in it.
CREATE VIEW public_edition_summaries WITH (security_invoker = true) AS
SELECT e.id, e.number, json_build_object(
           'number', e.number, 'title', e.title, 'published_on', e.published_on,
           'district_name', (SELECT d.name FROM districts d WHERE d.id = e.district_id),
           'state', e.state, 'closes_at', shanghai_time(e.closes_at),
           'voting', edition_voting_now(e),
           'cases', coalesce((SELECT json_agg(json_build_object(
                                  'id', c.id, 'title', c.title, 'community_name', m.name,
                                  'street_name', s.name) ORDER BY c.id)
                                FROM cases c JOIN communities m ON m.id = c.community_id
                                JOIN streets s ON s.id = c.street_id
                               WHERE c.edition_id = e.id
                                 AND c.state IN ('published', 'voting', 'closed')), '[]'))
           AS doc
  FROM editions e
 WHERE e.state <> 'published'
    OR EXISTS (SELECT 1 FROM cases c WHERE c.edition_id = e.id
                AND c.state IN ('published', 'voting', 'closed'));

-- The staff see each edition's choices and, once voting, its counts.
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
                                  'votes', vote_tally(c.id, e.choices)) ORDER BY c.id)
                                FROM cases c JOIN communities m ON m.id = c.community_id
                                JOIN streets s ON s.id = c.street_id
                               WHERE c.edition_id = e.id), '[]')) AS doc
  FROM editions e;

GRANT EXECUTE ON FUNCTION edition_voting_now(editions), edition_choices_valid(text[]),
    edition_default_choices() TO portal_app;

-- A JSON list of strings as text[] (NULL when it is not there).
CREATE FUNCTION json_text_array(j jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'array'
                THEN ARRAY(SELECT x FROM jsonb_array_elements_text(j) WITH ORDINALITY AS t (x, o)
                            ORDER BY o) END $$;
GRANT EXECUTE ON FUNCTION json_text_array(jsonb) TO portal_app;
GRANT SELECT ON public_case_docs, public_edition_docs, public_edition_summaries TO portal_app;
