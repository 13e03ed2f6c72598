-- Casts a public vote (see vote_cast in migrations/0006). $1 case id,
-- $2 voter id, $3 choice, $4 a new receipt, $5 the client address's keyed
-- hash, $6 the votes one address may cast on one case.
SELECT outcome, choice, receipt, votes::text AS votes
  FROM vote_cast($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::integer)
