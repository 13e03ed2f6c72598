-- Removes a photo from a case; the ones after it move up. Returns how many
-- were removed (0 or 1). $1 case id, $2 photo id.
WITH gone AS (DELETE FROM case_photos WHERE case_id = $1::bigint AND id = $2::bigint
              RETURNING position),
shifted AS (UPDATE case_photos p SET position = p.position - 1
              FROM gone g
             WHERE p.case_id = $1::bigint AND p.position > g.position
            RETURNING p.id)
SELECT count(*) AS deleted FROM gone
