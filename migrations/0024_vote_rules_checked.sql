-- The rules 0023 gave the vote's domains, checked against the rows stored
-- before it: each check scans the tables that use the domain under a
-- share lock (votes wait for it, reads do not). Then fresh statistics for
-- the columns whose type 0023 changed (PostgreSQL drops a column's
-- statistics when its type changes).

-- as in 0023: rather fail and run again than hold votes up behind a wait
SET LOCAL lock_timeout = '2s';

ALTER DOMAIN vote_choice VALIDATE CONSTRAINT vote_choice_length;
ALTER DOMAIN voter_id VALIDATE CONSTRAINT voter_id_length;
ALTER DOMAIN hex_128 VALIDATE CONSTRAINT hex_128_digits;
ALTER DOMAIN vote_count VALIDATE CONSTRAINT vote_count_not_negative;
ALTER DOMAIN vote_place VALIDATE CONSTRAINT vote_place_range;
ALTER DOMAIN address_votes VALIDATE CONSTRAINT address_votes_not_negative;

ANALYZE votes, vote_counts, vote_addresses;
