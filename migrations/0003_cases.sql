-- The case workflow: cases, their photos, revisions and history, editions,
-- and the state machine that moves them.
--
-- The state machine is data (case_states, case_actions), and only one role
-- can change a state: portal_workflow, which owns the functions
-- case_transition, edition_transition and editions_close_due. A trigger
-- refuses any other statement that changes a case's or an edition's state,
-- whoever runs it, and refuses that role too when the move is not a row of
-- case_actions. portald reads case_actions to say which actions are
-- allowed; it keeps no copy of its own.

-- ---- the state machine --------------------------------------------------

CREATE TABLE case_states (
    state    text PRIMARY KEY,
    position integer NOT NULL UNIQUE
);
INSERT INTO case_states VALUES
    ('draft', 1), ('review', 2), ('published', 3), ('voting', 4), ('closed', 5);

-- scope 'case': taken on one case (POST /api/cases/{id}/transitions);
-- scope 'edition': taken on an edition, moving every case in it.
CREATE TABLE case_actions (
    action        text NOT NULL,
    from_state    text NOT NULL REFERENCES case_states (state),
    to_state      text NOT NULL REFERENCES case_states (state),
    role          text NOT NULL CHECK (role IN ('editor', 'reviewer', 'system')),
    scope         text NOT NULL CHECK (scope IN ('case', 'edition')),
    needs_note    boolean NOT NULL DEFAULT false,
    needs_edition boolean NOT NULL DEFAULT false,
    PRIMARY KEY (action, from_state, role)
);
INSERT INTO case_actions VALUES
    ('submit',   'draft',     'review',    'editor',   'case',    false, false),
    ('withdraw', 'review',    'draft',     'editor',   'case',    false, false),
    ('reject',   'review',    'draft',     'reviewer', 'case',    true,  false),
    ('approve',  'review',    'published', 'reviewer', 'case',    false, true),
    ('open',     'published', 'voting',    'reviewer', 'edition', false, false),
    ('close',    'voting',    'closed',    'reviewer', 'edition', false, false),
    ('close',    'voting',    'closed',    'system',   'edition', false, false);

GRANT SELECT ON case_states, case_actions TO portal_app;

-- Who may read a case in state p_state of street p_street: an editor its own
-- street's, the district's staff everything past draft, the public what is
-- published. Every policy below and the workflow functions use this one
-- definition. A plain expression, so the planner inlines it into every
-- policy (a subquery here would make PostgreSQL parse and plan the
-- function again for every row it checks).
CREATE FUNCTION case_visible(p_state text, p_street bigint) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE portal_role()
           WHEN 'editor' THEN p_street = portal_street_id()
           WHEN 'reviewer' THEN p_state <> 'draft'
           WHEN 'admin' THEN p_state <> 'draft'
           ELSE p_state IN ('published', 'voting', 'closed') END $$;
GRANT EXECUTE ON FUNCTION case_visible(text, bigint) TO portal_app, portal_workflow;

-- ---- editions ------------------------------------------------------------

-- An edition's state follows its cases: 'published' while it is put
-- together (approved cases are public at once), then 'voting', 'closed'.
-- Deadlines are instants (timestamptz); the API reads and writes them in
-- Asia/Shanghai time.
CREATE TABLE editions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    district_id  bigint NOT NULL REFERENCES districts (id),
    number       integer NOT NULL CHECK (number BETWEEN 1 AND 100000),
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    published_on date,
    state        text NOT NULL DEFAULT 'published'
                 CHECK (state IN ('published', 'voting', 'closed')),
    closes_at    timestamptz,
    opened_at    timestamptz,
    closed_at    timestamptz,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (district_id, number),
    CHECK (state <> 'voting' OR closes_at IS NOT NULL)
);
CREATE INDEX editions_due_idx ON editions (closes_at) WHERE state = 'voting';

-- ---- cases ------------------------------------------------------------------

-- actions: [{headline, body}, ...] in order, 1 to 20 of them.
CREATE FUNCTION case_actions_valid(a jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_typeof(a) = 'array' AND jsonb_array_length(a) <= 20
       AND NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements(a) AS e
            WHERE jsonb_typeof(e) <> 'object'
               OR (SELECT count(*) FROM jsonb_object_keys(e)) <> 2
               OR jsonb_typeof(e -> 'headline') IS DISTINCT FROM 'string'
               OR jsonb_typeof(e -> 'body') IS DISTINCT FROM 'string'
               OR length(e ->> 'headline') NOT BETWEEN 1 AND 200
               OR length(e ->> 'body') NOT BETWEEN 1 AND 5000) $$;

CREATE TABLE cases (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id        bigint NOT NULL REFERENCES communities (id),
    street_id           bigint NOT NULL REFERENCES streets (id), -- the community's
    state               text NOT NULL DEFAULT 'draft' REFERENCES case_states (state),
    edition_id          bigint REFERENCES editions (id),
    title               text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
    problem             text NOT NULL DEFAULT '' CHECK (length(problem) <= 5000),
    actions             jsonb NOT NULL DEFAULT '[]' CHECK (case_actions_valid(actions)),
    testimonial_text    text NOT NULL DEFAULT '' CHECK (length(testimonial_text) <= 2000),
    testimonial_speaker text NOT NULL DEFAULT '' CHECK (length(testimonial_speaker) <= 50),
    testimonial_post    text NOT NULL DEFAULT '' CHECK (length(testimonial_post) <= 100),
    version             integer NOT NULL DEFAULT 1,
    created_by          bigint REFERENCES staff_users (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- a case is in an edition exactly when it has been approved
    CHECK ((state IN ('draft', 'review')) = (edition_id IS NULL))
);
CREATE INDEX cases_street_idx ON cases (street_id, id);
CREATE INDEX cases_community_idx ON cases (community_id);
CREATE INDEX cases_edition_idx ON cases (edition_id);
CREATE INDEX cases_state_idx ON cases (state, id);

-- Photos are stored once per content (their SHA-256 names them and is their
-- URL), and linked to cases in order with a caption.
CREATE TABLE photo_blobs (
    sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
    width      integer NOT NULL CHECK (width BETWEEN 1 AND 20000),
    height     integer NOT NULL CHECK (height BETWEEN 1 AND 20000),
    bytes      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (length(bytes) BETWEEN 1 AND 16777216)
);

CREATE TABLE case_photos (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id    bigint NOT NULL REFERENCES cases (id),
    street_id  bigint NOT NULL REFERENCES streets (id), -- the case's, for row security
    sha256     text NOT NULL REFERENCES photo_blobs (sha256),
    position   integer NOT NULL CHECK (position BETWEEN 1 AND 100),
    caption    text NOT NULL DEFAULT '' CHECK (length(caption) <= 200),
    -- the blob's, copied by a trigger, so a case reads without the blobs
    media_type text NOT NULL DEFAULT '',
    width      integer NOT NULL DEFAULT 0,
    height     integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, position) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX case_photos_sha_idx ON case_photos (sha256);

-- Every content change of a case, whole, by version.
CREATE TABLE case_revisions (
    case_id   bigint NOT NULL REFERENCES cases (id),
    version   integer NOT NULL,
    content   jsonb NOT NULL,
    saved_by  bigint,
    saved_by_name text NOT NULL,
    saved_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, version)
);

-- The history: one row per state change, written in the same transaction.
CREATE TABLE case_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id    bigint NOT NULL REFERENCES cases (id),
    action     text NOT NULL,
    from_state text NOT NULL,
    to_state   text NOT NULL,
    actor_id   bigint,
    actor      text NOT NULL,
    note       text CHECK (length(note) <= 2000),
    edition_id bigint,
    version    integer NOT NULL, -- the case's version after the change
    request_id text,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_events_case_idx ON case_events (case_id, id);

-- ---- what no statement may do ---------------------------------------------

-- New cases start as drafts; state and edition change only inside the
-- workflow functions (current_user is then portal_workflow) and only along
-- case_actions; published text never changes; the version counts every
-- change.
CREATE FUNCTION cases_guard() RETURNS trigger
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
                              OLD.testimonial_speaker, OLD.testimonial_post) THEN
        RAISE EXCEPTION 'only a draft''s text can change' USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER cases_guard BEFORE INSERT OR UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_guard();

-- A case belongs to its community's street; an editor may only name a
-- community it can see.
CREATE FUNCTION cases_set_street() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    SELECT street_id INTO NEW.street_id FROM communities WHERE id = NEW.community_id;
    IF NEW.street_id IS NULL THEN
        RAISE EXCEPTION 'no such community' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER cases_set_street BEFORE INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_set_street();

CREATE FUNCTION editions_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- only the schema's owner may record an edition of the past as it
        -- ended (demo data, imports); everyone else starts one unopened
        IF NEW.state <> 'published' AND NOT pg_has_role(current_user, 'portal_owner', 'MEMBER') THEN
            RAISE EXCEPTION 'an edition starts unopened' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.state <> OLD.state AND current_user <> 'portal_workflow' THEN
        RAISE EXCEPTION 'an edition changes state only through edition_transition()'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.state = 'closed' AND NEW.closes_at IS DISTINCT FROM OLD.closes_at THEN
        RAISE EXCEPTION 'a closed edition keeps its deadline'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.state = 'voting' AND NEW.closes_at IS DISTINCT FROM OLD.closes_at
       AND NEW.closes_at <= now() THEN
        RAISE EXCEPTION 'a voting edition''s deadline moves only into the future (close it instead)'
            USING ERRCODE = 'check_violation';
    END IF;
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER editions_guard BEFORE INSERT OR UPDATE ON editions
    FOR EACH ROW EXECUTE FUNCTION editions_guard();
-- who made, renamed, rescheduled, opened and closed an edition, and when
CREATE TRIGGER editions_audit AFTER INSERT OR UPDATE OR DELETE ON editions
    FOR EACH ROW EXECUTE FUNCTION audit_change();

-- History and revisions are append-only, for every role.
CREATE FUNCTION append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER case_revisions_append_only BEFORE UPDATE OR DELETE ON case_revisions
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER case_revisions_no_truncate BEFORE TRUNCATE ON case_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- ---- content and revisions --------------------------------------------------

-- What a case says: the part that revisions keep and the diff compares.
CREATE FUNCTION case_content(c cases) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'title', c.title, 'problem', c.problem, 'actions', c.actions,
        'testimonial', jsonb_build_object('text', c.testimonial_text,
                                          'speaker', c.testimonial_speaker,
                                          'post', c.testimonial_post),
        'photos', coalesce((SELECT jsonb_agg(jsonb_build_object('sha256', p.sha256,
                                                                'caption', p.caption)
                                             ORDER BY p.position)
                              FROM case_photos p WHERE p.case_id = c.id), '[]')) $$;

-- Records a revision whenever the content differs from the last one. It
-- runs at commit, so a save that changes the text and the photos in several
-- statements is one revision of the final content, under the final
-- version. Owned by portal_workflow, so the application role needs no
-- INSERT on revisions.
CREATE FUNCTION cases_record_revision() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    now_row cases;
    content jsonb;
BEGIN
    SELECT * INTO now_row FROM cases WHERE id = NEW.id;
    content := case_content(now_row);
    IF content IS DISTINCT FROM (SELECT r.content FROM case_revisions r
                                  WHERE r.case_id = NEW.id ORDER BY r.version DESC LIMIT 1) THEN
        INSERT INTO case_revisions (case_id, version, content, saved_by, saved_by_name)
        VALUES (NEW.id, now_row.version, content, portal_user_id(), portal_actor());
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER cases_record_revision AFTER INSERT OR UPDATE ON cases
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cases_record_revision();

-- What changed between two revisions: {field: {"from": .., "to": ..}} for
-- each top-level field that differs; for actions and photos, a list of
-- {index, from, to} for each position that differs (null where absent).
CREATE FUNCTION content_diff(a jsonb, b jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(k, CASE
               WHEN jsonb_typeof(a -> k) = 'array' AND jsonb_typeof(b -> k) = 'array' THEN
                   (SELECT coalesce(jsonb_agg(jsonb_build_object('index', i, 'from', a -> k -> i,
                                                                 'to', b -> k -> i) ORDER BY i),
                                    '[]')
                      FROM generate_series(0, greatest(jsonb_array_length(a -> k),
                                                       jsonb_array_length(b -> k)) - 1) AS i
                     WHERE (a -> k -> i) IS DISTINCT FROM (b -> k -> i))
               ELSE jsonb_build_object('from', a -> k, 'to', b -> k) END), '{}')
      FROM (SELECT jsonb_object_keys(a) UNION SELECT jsonb_object_keys(b)) AS keys(k)
     WHERE (a -> k) IS DISTINCT FROM (b -> k) $$;
GRANT EXECUTE ON FUNCTION content_diff(jsonb, jsonb), case_content(cases) TO portal_app;

-- ---- the workflow, as portal_workflow ----------------------------------------

-- What role may do from state, at scope ('case' or 'edition'), by name.
CREATE FUNCTION allowed_actions(p_state text, p_role text, p_scope text) RETURNS text[]
    LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT action FROM case_actions
                  WHERE from_state = p_state AND role = p_role AND scope = p_scope
                  ORDER BY action) $$;

-- Who the transaction says is acting, for events.
CREATE FUNCTION portal_actor() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(nullif(current_setting('portal.actor', true), ''),
                    (SELECT username FROM staff_users WHERE id = portal_user_id()), 'system') $$;

-- Moves one case by action for the transaction's role. outcome is one of
--   ok            moved; state and version are the new ones, one event written
--   not_found     no such case, or one the caller may not see
--   stale         expected_version is not the case's version
--   unknown       no such action
--   forbidden     the action exists from this state, but not for this role
--   not_allowed   the action does not exist from this state
--   note_required the action needs a note (a reason)
--   bad_edition   approve needs an edition that exists and has not opened
--   incomplete    submit needs a title, the problem, an action and the testimonial
-- allowed lists what the caller may do from the case's current state.
CREATE FUNCTION case_transition(p_case bigint, p_action text, p_note text, p_edition bigint,
                                expected_version integer)
    RETURNS TABLE (outcome text, state text, version integer, allowed text[], detail text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c     cases;
    t     case_actions;
    r     text := portal_role();
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
    ELSIF NOT EXISTS (SELECT 1 FROM case_actions a WHERE a.action = p_action AND a.scope = 'case') THEN
        outcome := 'unknown';
    ELSE
        SELECT * INTO t FROM case_actions a
         WHERE a.action = p_action AND a.from_state = c.state AND a.role = r AND a.scope = 'case';
        IF NOT FOUND THEN
            outcome := CASE WHEN EXISTS (SELECT 1 FROM case_actions a
                                          WHERE a.action = p_action AND a.from_state = c.state
                                            AND a.scope = 'case')
                            THEN 'forbidden' ELSE 'not_allowed' END;
        ELSIF t.needs_note AND coalesce(btrim(p_note), '') = '' THEN
            outcome := 'note_required';
        ELSIF t.needs_edition AND NOT EXISTS (SELECT 1 FROM editions ed
                                               WHERE ed.id = p_edition AND ed.state = 'published') THEN
            outcome := 'bad_edition';
        ELSIF p_action = 'submit' AND (btrim(c.title) = '' OR btrim(c.problem) = ''
                                       OR jsonb_array_length(c.actions) = 0
                                       OR btrim(c.testimonial_text) = ''
                                       OR btrim(c.testimonial_speaker) = '') THEN
            outcome := 'incomplete';
            detail := 'a case needs a title, the problem, at least one action and the testimonial with its speaker before review';
        END IF;
    END IF;
    IF outcome IS NOT NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;
    UPDATE cases AS k
       SET state = t.to_state,
           edition_id = CASE WHEN t.needs_edition THEN p_edition
                             WHEN t.to_state IN ('draft', 'review') THEN NULL
                             ELSE k.edition_id END
     WHERE k.id = p_case
    RETURNING k.state, k.version INTO state, version;
    INSERT INTO case_events (case_id, action, from_state, to_state, actor_id, actor, note,
                             edition_id, version, request_id)
    VALUES (p_case, p_action, c.state, t.to_state, portal_user_id(), portal_actor(),
            nullif(btrim(p_note), ''), CASE WHEN t.needs_edition THEN p_edition END, version,
            nullif(current_setting('portal.request_id', true), ''));
    outcome := 'ok';
    allowed := allowed_actions(state, r, 'case');
    RETURN NEXT;
END $$;

-- Moves every case of an edition (open: published -> voting; close:
-- voting -> closed), one event each, and the edition with them. p_role is
-- the transaction's role, or 'system' for the deadline. Outcomes as for
-- case_transition, plus 'deadline' (open needs a deadline in the future)
-- and 'empty' (open needs at least one case).
CREATE FUNCTION edition_move(p_edition bigint, p_action text, p_closes_at timestamptz,
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

-- For staff: the transaction's role decides.
CREATE FUNCTION edition_transition(p_edition bigint, p_action text, p_closes_at timestamptz,
                                   expected_version integer)
    RETURNS TABLE (outcome text, state text, version integer, allowed text[], detail text)
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT * FROM edition_move(p_edition, p_action, p_closes_at, portal_role(), expected_version)
$$;

-- Closes every edition whose deadline has passed, as the system. Any
-- worker may call it at any time: it only ever closes what is due, and
-- SKIP LOCKED lets two callers share the work. Returns what it closed.
CREATE FUNCTION editions_close_due()
    RETURNS TABLE (edition_id bigint, number integer, cases_closed text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    due bigint;
    m   record;
BEGIN
    PERFORM set_config('portal.actor', 'system', true); -- for the audit trail
    FOR due IN SELECT ed.id FROM editions ed
                WHERE ed.state = 'voting' AND ed.closes_at <= now()
                ORDER BY ed.closes_at FOR UPDATE SKIP LOCKED LOOP
        SELECT * INTO m FROM edition_move(due, 'close', NULL, 'system', NULL);
        IF m.outcome = 'ok' THEN
            edition_id := due;
            number := (SELECT ed.number FROM editions ed WHERE ed.id = due);
            cases_closed := m.detail;
            RETURN NEXT;
        END IF;
    END LOOP;
END $$;

ALTER FUNCTION portal_actor() OWNER TO portal_workflow;
ALTER FUNCTION cases_record_revision() OWNER TO portal_workflow;
ALTER FUNCTION case_transition(bigint, text, text, bigint, integer) OWNER TO portal_workflow;
ALTER FUNCTION edition_move(bigint, text, timestamptz, text, integer) OWNER TO portal_workflow;
ALTER FUNCTION edition_transition(bigint, text, timestamptz, integer) OWNER TO portal_workflow;
ALTER FUNCTION editions_close_due() OWNER TO portal_workflow;
REVOKE ALL ON FUNCTION portal_actor(), cases_record_revision(),
    case_transition(bigint, text, text, bigint, integer),
    edition_move(bigint, text, timestamptz, text, integer),
    edition_transition(bigint, text, timestamptz, integer), editions_close_due() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION case_transition(bigint, text, text, bigint, integer),
    edition_transition(bigint, text, timestamptz, integer), editions_close_due()
    TO portal_app;
GRANT EXECUTE ON FUNCTION portal_actor() TO portal_workflow;

-- ---- row-level security -------------------------------------------------------

ALTER TABLE case_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_states FORCE ROW LEVEL SECURITY;
CREATE POLICY case_states_read ON case_states FOR SELECT USING (true);
ALTER TABLE case_actions ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_actions FORCE ROW LEVEL SECURITY;
CREATE POLICY case_actions_read ON case_actions FOR SELECT USING (true);

ALTER TABLE cases ENABLE ROW LEVEL SECURITY;
ALTER TABLE cases FORCE ROW LEVEL SECURITY;
CREATE POLICY cases_read ON cases FOR SELECT USING (case_visible(state, street_id));
CREATE POLICY cases_insert ON cases FOR INSERT
    WITH CHECK (portal_role() = 'editor' AND street_id = portal_street_id()
                AND created_by IS NOT DISTINCT FROM portal_user_id());
CREATE POLICY cases_update ON cases FOR UPDATE
    USING (portal_role() = 'editor' AND street_id = portal_street_id() AND state = 'draft')
    WITH CHECK (portal_role() = 'editor' AND street_id = portal_street_id() AND state = 'draft');
CREATE POLICY cases_workflow ON cases TO portal_workflow USING (true) WITH CHECK (true);

ALTER TABLE case_photos ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_photos FORCE ROW LEVEL SECURITY;
CREATE POLICY case_photos_read ON case_photos FOR SELECT
    USING (EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id));
CREATE POLICY case_photos_write ON case_photos
    USING (portal_role() = 'editor' AND street_id = portal_street_id()
           AND EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id AND c.state = 'draft'))
    WITH CHECK (portal_role() = 'editor' AND street_id = portal_street_id()
                AND EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id
                                                    AND c.street_id = case_photos.street_id
                                                    AND c.state = 'draft'));
CREATE POLICY case_photos_workflow ON case_photos FOR SELECT TO portal_workflow USING (true);

-- A photo's bytes are readable by whoever may read a case that shows it.
ALTER TABLE photo_blobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE photo_blobs FORCE ROW LEVEL SECURITY;
CREATE POLICY photo_blobs_read ON photo_blobs FOR SELECT
    USING (EXISTS (SELECT 1 FROM case_photos p WHERE p.sha256 = photo_blobs.sha256));
CREATE POLICY photo_blobs_workflow ON photo_blobs TO portal_workflow USING (true) WITH CHECK (true);

-- Stores a photo's bytes once per content. Runs as portal_workflow because
-- an insert that may meet an existing row must be able to see it, and the
-- caller may not (the same picture in another street's draft). Only an
-- editor stores photos; the bytes become readable only once a visible case
-- shows them.
CREATE FUNCTION photo_blob_store(p_sha256 text, p_media_type text, p_width integer,
                                 p_height integer, p_bytes bytea) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF portal_role() <> 'editor' THEN
        RAISE EXCEPTION 'only editors store photos' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF encode(sha256(p_bytes), 'hex') <> p_sha256 THEN
        RAISE EXCEPTION 'the bytes do not hash to their name' USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO photo_blobs (sha256, media_type, width, height, bytes)
    VALUES (p_sha256, p_media_type, p_width, p_height, p_bytes)
    ON CONFLICT (sha256) DO NOTHING;
    RETURN FOUND;
END $$;
ALTER FUNCTION photo_blob_store(text, text, integer, integer, bytea) OWNER TO portal_workflow;

-- A photo shows its blob's type and size, whatever the inserting statement says.
CREATE FUNCTION case_photos_describe() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    SELECT b.media_type, b.width, b.height INTO NEW.media_type, NEW.width, NEW.height
      FROM photo_blobs b WHERE b.sha256 = NEW.sha256;
    RETURN NEW;
END $$;
ALTER FUNCTION case_photos_describe() OWNER TO portal_workflow;
CREATE TRIGGER case_photos_describe BEFORE INSERT ON case_photos
    FOR EACH ROW EXECUTE FUNCTION case_photos_describe();
REVOKE ALL ON FUNCTION photo_blob_store(text, text, integer, integer, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION photo_blob_store(text, text, integer, integer, bytea) TO portal_app;
GRANT SELECT, INSERT ON photo_blobs TO portal_workflow;

ALTER TABLE case_revisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_revisions FORCE ROW LEVEL SECURITY;
CREATE POLICY case_revisions_read ON case_revisions FOR SELECT
    USING (portal_role() IN ('editor', 'reviewer', 'admin')
           AND EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id));
CREATE POLICY case_revisions_workflow ON case_revisions TO portal_workflow
    USING (true) WITH CHECK (true);

ALTER TABLE case_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_events FORCE ROW LEVEL SECURITY;
CREATE POLICY case_events_read ON case_events FOR SELECT
    USING (portal_role() IN ('editor', 'reviewer', 'admin')
           AND EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id));
CREATE POLICY case_events_workflow ON case_events TO portal_workflow
    USING (true) WITH CHECK (true);

-- The district's editions are public facts once they hold a case or vote;
-- reviewers make and change them.
ALTER TABLE editions ENABLE ROW LEVEL SECURITY;
ALTER TABLE editions FORCE ROW LEVEL SECURITY;
CREATE POLICY editions_read ON editions FOR SELECT
    USING (portal_role() IN ('editor', 'reviewer', 'admin') OR state <> 'published'
           OR EXISTS (SELECT 1 FROM cases c WHERE c.edition_id = editions.id));
CREATE POLICY editions_insert ON editions FOR INSERT WITH CHECK (portal_role() = 'reviewer');
CREATE POLICY editions_update ON editions FOR UPDATE
    USING (portal_role() = 'reviewer') WITH CHECK (portal_role() = 'reviewer');
CREATE POLICY editions_workflow ON editions TO portal_workflow USING (true) WITH CHECK (true);

-- The workflow reads what it moves; the owner reads everything for the
-- audit of demo data and for maintenance.
GRANT SELECT, UPDATE ON cases, editions TO portal_workflow;
GRANT SELECT ON case_actions, case_states, case_photos, staff_users TO portal_workflow;
GRANT SELECT, INSERT ON case_events, case_revisions TO portal_workflow;
CREATE POLICY staff_users_workflow ON staff_users FOR SELECT TO portal_workflow USING (true);

GRANT SELECT ON cases, case_photos, photo_blobs, case_revisions, case_events, editions
    TO portal_app;
GRANT INSERT (community_id, title, problem, actions, testimonial_text, testimonial_speaker,
              testimonial_post, created_by),
      UPDATE (title, problem, actions, testimonial_text, testimonial_speaker, testimonial_post)
    ON cases TO portal_app;
GRANT INSERT (case_id, street_id, sha256, position, caption),
      UPDATE (position, caption), DELETE ON case_photos TO portal_app;
GRANT INSERT (district_id, number, title, published_on, closes_at),
      UPDATE (number, title, published_on, closes_at) ON editions TO portal_app;
-- "touch" a case when its photos change, so its version and revision follow
GRANT UPDATE (updated_at) ON cases TO portal_app;

-- ---- what the API returns -------------------------------------------------------

-- Reads a deadline: ISO 8601 with an offset ("2027-04-16T00:00:00+08:00",
-- "...Z"), or without one, which is then Asia/Shanghai time.
CREATE FUNCTION shanghai_parse(t text) RETURNS timestamptz
    LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN t ~ '(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN t::timestamptz
                ELSE t::timestamp AT TIME ZONE 'Asia/Shanghai' END $$;
GRANT EXECUTE ON FUNCTION shanghai_parse(text) TO portal_app;

-- Deadlines are shown in Asia/Shanghai time, with their offset.
CREATE FUNCTION shanghai_time(t timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"') $$;
GRANT EXECUTE ON FUNCTION shanghai_time(timestamptz) TO portal_app;

CREATE VIEW case_docs WITH (security_invoker = true) AS
SELECT c.id, c.street_id, c.community_id, c.state, c.edition_id, c.version,
       jsonb_build_object(
           'id', c.id, 'community_id', c.community_id, 'community_name', m.name,
           'street_id', c.street_id, 'street_name', s.name, 'state', c.state,
           'title', c.title, 'problem', c.problem, 'actions', c.actions,
           'testimonial', jsonb_build_object('text', c.testimonial_text,
                                             'speaker', c.testimonial_speaker,
                                             'post', c.testimonial_post),
           'photos', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                   'id', p.id, 'url', '/api/photos/' || p.sha256,
                                   'caption', p.caption, 'position', p.position,
                                   'media_type', p.media_type, 'width', p.width,
                                   'height', p.height) ORDER BY p.position)
                                 FROM case_photos p WHERE p.case_id = c.id), '[]'),
           'committee', jsonb_build_object('elected_on', m.committee_elected_on,
                                           'size', m.committee_size,
                                           'secretary_name', m.secretary_name,
                                           'secretary_post', m.secretary_post),
           'edition_id', c.edition_id, 'edition_number', ed.number,
           'version', c.version, 'created_at', c.created_at, 'updated_at', c.updated_at) AS doc
  FROM cases c
  JOIN communities m ON m.id = c.community_id
  JOIN streets s ON s.id = c.street_id
  LEFT JOIN editions ed ON ed.id = c.edition_id;

CREATE VIEW edition_docs WITH (security_invoker = true) AS
SELECT e.id, e.number, e.version, jsonb_build_object(
           'id', e.id, 'number', e.number, 'title', e.title, 'published_on', e.published_on,
           'state', e.state, 'closes_at', shanghai_time(e.closes_at),
           'opened_at', shanghai_time(e.opened_at), 'closed_at', shanghai_time(e.closed_at),
           'version', e.version,
           'cases', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                  'id', c.id, 'title', c.title, 'state', c.state,
                                  'community_id', c.community_id, 'community_name', m.name,
                                  'street_name', s.name) ORDER BY c.id)
                                FROM cases c JOIN communities m ON m.id = c.community_id
                                JOIN streets s ON s.id = c.street_id
                               WHERE c.edition_id = e.id), '[]')) AS doc
  FROM editions e;

GRANT SELECT ON case_docs, edition_docs TO portal_app;

-- ---- votes: only while an edition's vote is open ------------------------------
-- The public vote itself (who a voter is, limits per address, choices and
-- counts) comes with the public portal; what is settled here is the rule
-- the database enforces for every writer: a vote counts only for a case in
-- voting, in an edition whose deadline has not passed, by the clock of the
-- statement, whether or not the edition has been closed yet. One vote per
-- voter per case.
CREATE TABLE votes (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    choice  text NOT NULL CHECK (length(choice) BETWEEN 1 AND 50),
    voter   text NOT NULL CHECK (length(voter) BETWEEN 16 AND 128),
    at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, voter)
);

CREATE FUNCTION votes_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM cases c JOIN editions e ON e.id = c.edition_id
                    WHERE c.id = NEW.case_id AND c.state = 'voting' AND e.state = 'voting'
                      AND clock_timestamp() < e.closes_at) THEN
        RAISE EXCEPTION 'voting on this case is closed' USING ERRCODE = 'check_violation';
    END IF;
    NEW.at := clock_timestamp();
    RETURN NEW;
END $$;
ALTER FUNCTION votes_guard() OWNER TO portal_workflow;
CREATE TRIGGER votes_guard BEFORE INSERT ON votes FOR EACH ROW EXECUTE FUNCTION votes_guard();
CREATE TRIGGER votes_append_only BEFORE UPDATE OR DELETE ON votes
    FOR EACH ROW EXECUTE FUNCTION append_only();

ALTER TABLE votes ENABLE ROW LEVEL SECURITY;
ALTER TABLE votes FORCE ROW LEVEL SECURITY;
CREATE POLICY votes_insert ON votes FOR INSERT WITH CHECK (true);
GRANT INSERT (case_id, choice, voter) ON votes TO portal_app;
