-- Takes an action on a case (see case_act in migrations/0007: the workflow's
-- moves of case_transition, and "correct"). $1 id, $2 action, $3 note,
-- $4 edition id, $5 expected version, $6 a correction's content (each may
-- be NULL).
SELECT outcome, state, version, to_json(coalesce(allowed, '{}'))::text AS allowed, detail
  FROM case_act($1::bigint, $2::text, $3::text, $4::bigint, $5::integer, $6::jsonb)
