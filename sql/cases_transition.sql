-- Takes an action on a case (see case_transition in migrations/0003).
-- $1 id, $2 action, $3 note, $4 edition id, $5 expected version (each may be NULL).
SELECT outcome, state, version, to_json(coalesce(allowed, '{}'))::text AS allowed, detail
  FROM case_transition($1::bigint, $2::text, $3::text, $4::bigint, $5::integer)
