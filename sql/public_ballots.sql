-- A closed edition's ballot list, made again from the votes, with its
-- digest now and the one recorded at close. $1 the edition's number.
SELECT csv, digest, recorded_digest FROM edition_ballots($1::integer)
