-- Changes a photo's caption and/or moves it to a position (1..count; the
-- others shift). $1 case id, $2 photo id, $3 caption or NULL, $4 position or NULL.
WITH target AS (SELECT id, position AS old,
                       least(greatest(coalesce($4::integer, position), 1),
                             (SELECT count(*) FROM case_photos WHERE case_id = $1::bigint))::integer
                           AS new
                  FROM case_photos WHERE case_id = $1::bigint AND id = $2::bigint)
UPDATE case_photos p SET
    caption = CASE WHEN p.id = t.id THEN coalesce($3::text, p.caption) ELSE p.caption END,
    position = CASE WHEN p.id = t.id THEN t.new
                    WHEN t.new < t.old AND p.position >= t.new AND p.position < t.old
                        THEN p.position + 1
                    WHEN t.new > t.old AND p.position <= t.new AND p.position > t.old
                        THEN p.position - 1
                    ELSE p.position END
  FROM target t
 WHERE p.case_id = $1::bigint
RETURNING p.id
