-- Opens or closes an edition's vote (see edition_transition in
-- migrations/0003). $1 id, $2 action, $3 closes_at text or NULL, $4 expected version or NULL.
SELECT outcome, state, version, to_json(coalesce(allowed, '{}'))::text AS allowed, detail
  FROM edition_transition($1::bigint, $2::text, shanghai_parse($3::text), $4::integer)
