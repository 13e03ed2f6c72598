-- Casts a public vote (see vote_cast_counts in migrations/0022, and
-- vote_cast in migrations/0006). $1 case id, $2 voter id, $3 choice, $4 a
-- new receipt, $5 the client address's keyed hash, $6 the votes one
-- address may cast on one case. choices is the edition's, as a JSON array;
-- counts is {choice: count} for the choices with any, in no order.
SELECT outcome, choice, receipt, choices::text AS choices, counts::text AS counts
  FROM vote_cast_counts($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::integer)
