-- An edition's tally as recorded at close against the ballots and counts
-- made again from the votes now, and the counts kept beside the votes
-- (shown while it was voting). $1 the edition's number.
SELECT recorded_digest, recounted_digest, recorded_ballots, recounted_ballots,
       recorded_counts::text AS recorded_counts, recounted_counts::text AS recounted_counts,
       kept_counts::text AS kept_counts
  FROM edition_tally_check($1::integer)
