-- A vote's count row takes portal.vote_shard only when it names a place
-- (0 to 15, as portald sets it on each connection: sql/session_settings.sql).
-- A value that is not an integer (an operator's ALTER ROLE ... SET, a psql
-- session's own value) made 0019's cast fail, and with it every vote made
-- on such a connection; other integers were folded into 0 to 15. Now any
-- value but a place counts in the backend's row, as a connection without
-- one does. portald sets the value on each connection it makes, so its
-- own votes never met this.

CREATE OR REPLACE FUNCTION votes_count() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    place text := current_setting('portal.vote_shard', true);
BEGIN
    INSERT INTO vote_counts AS v (case_id, choice, shard, n)
    VALUES (NEW.case_id, NEW.choice,
            CASE WHEN place ~ '^(1[0-5]|[0-9])$' THEN place::integer
                 ELSE pg_backend_pid() & 15 END, 1)
    ON CONFLICT (case_id, choice, shard) DO UPDATE SET n = v.n + 1;
    RETURN NULL;
END $$;
