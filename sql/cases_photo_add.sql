-- Adds a stored photo at the end of a case's photos. $1 case id, $2 its
-- street, $3 sha256, $4 caption.
INSERT INTO case_photos (case_id, street_id, sha256, position, caption)
SELECT $1::bigint, $2::bigint, $3::text,
       coalesce((SELECT max(position) FROM case_photos WHERE case_id = $1::bigint), 0) + 1,
       $4::text
RETURNING id
