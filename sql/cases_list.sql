-- A page of cases in id order, and where the next page starts.
-- $1 state, $2 community id, $3 edition id, $4 after this id, $5 page size,
-- $6 the editor's street (each NULL when not given).
WITH page AS (
    SELECT id, doc FROM case_docs
     WHERE ($1::text IS NULL OR state = $1::text)
       AND ($2::bigint IS NULL OR community_id = $2::bigint)
       AND ($3::bigint IS NULL OR edition_id = $3::bigint)
       AND ($4::bigint IS NULL OR id > $4::bigint)
       AND ($6::bigint IS NULL OR street_id = $6::bigint)
     ORDER BY id
     LIMIT $5::integer + 1)
SELECT json_build_object(
           'items', coalesce((SELECT json_agg(doc ORDER BY id)
                                FROM (SELECT * FROM page ORDER BY id LIMIT $5::integer) AS p),
                             '[]'),
           'next_after', CASE WHEN (SELECT count(*) FROM page) > $5::integer
                              THEN (SELECT max(id) FROM (SELECT id FROM page ORDER BY id
                                                          LIMIT $5::integer) AS p) END) AS doc
