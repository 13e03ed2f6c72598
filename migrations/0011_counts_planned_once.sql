-- The counts of a case are asked for on every public read and every vote.
-- As SQL functions with a subquery they could not be inlined, so
-- PostgreSQL parsed and planned them again on every call (a profile of
-- make bench put about a fifth of the CPU there). In PL/pgSQL their
-- queries are planned once per connection and kept, as auth_session's
-- were for the same reason. What they return is unchanged.

CREATE OR REPLACE FUNCTION vote_tally(p_case bigint, p_choices text[]) RETURNS json
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(json_object_agg(t.ch, coalesce(
                       (SELECT sum(v.n) FROM vote_counts v
                         WHERE v.case_id = p_case AND v.choice = t.ch), 0)::bigint ORDER BY t.ord),
                       '{}')
              FROM unnest(p_choices) WITH ORDINALITY AS t (ch, ord));
END $$;

CREATE OR REPLACE FUNCTION case_votes(p_case bigint, p_edition bigint, p_choices text[])
    RETURNS json
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    recorded jsonb;
BEGIN
    SELECT et.counts INTO recorded FROM edition_tallies et WHERE et.edition_id = p_edition;
    IF recorded IS NULL THEN
        RETURN vote_tally(p_case, p_choices);
    END IF;
    RETURN (SELECT coalesce(json_object_agg(x.ch, coalesce(
                       (recorded -> p_case::text ->> x.ch)::bigint, 0) ORDER BY x.ord), '{}')
              FROM unnest(p_choices) WITH ORDINALITY AS x (ch, ord));
END $$;

CREATE OR REPLACE FUNCTION case_corrections(p_case bigint) RETURNS json
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object('at', shanghai_time(e.at),
                                                       'reason', e.note) ORDER BY e.id), '[]')
              FROM case_events e JOIN cases c ON c.id = e.case_id
             WHERE e.case_id = p_case AND e.action = 'correct'
               AND c.state IN ('published', 'voting', 'closed'));
END $$;

-- A count that votes_count() raises for a vote votes_guard() has just let
-- in needs no second look at its edition (a trigger depth of 2 says it is
-- that call); any other change of the counts still gets one.
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
    IF pg_trigger_depth() > 1 AND current_user = 'portal_workflow' THEN
        RETURN NEW; -- raised by votes_count() for a vote votes_guard() accepted
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cases c JOIN editions e ON e.id = c.edition_id
                    WHERE c.id = NEW.case_id AND e.state = 'voting') THEN
        RAISE EXCEPTION 'the counts of a vote that is not open do not change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
