-- What changed between two revisions. $1 case id, $2 from version (NULL:
-- the content as last submitted for review, else the first revision),
-- $3 to version (NULL: the latest), $4 the editor's street or NULL.
-- NULL when the case or a named revision is not there.
WITH c AS (SELECT id FROM cases
            WHERE id = $1::bigint AND ($4::bigint IS NULL OR street_id = $4::bigint)),
submitted AS (SELECT max(e.version) AS version FROM case_events e, c
               WHERE e.case_id = c.id AND e.action = 'submit'),
a AS (SELECT r.version, r.content FROM case_revisions r, c
       WHERE r.case_id = c.id
         AND CASE WHEN $2::integer IS NOT NULL THEN r.version = $2::integer
                  ELSE r.version <= coalesce((SELECT version FROM submitted), 0)
                       OR NOT EXISTS (SELECT 1 FROM case_revisions x
                                       WHERE x.case_id = c.id AND x.version < r.version) END
       ORDER BY r.version DESC LIMIT 1),
b AS (SELECT r.version, r.content FROM case_revisions r, c
       WHERE r.case_id = c.id AND ($3::integer IS NULL OR r.version = $3::integer)
       ORDER BY r.version DESC LIMIT 1)
SELECT json_build_object('from', a.version, 'to', b.version,
                         'changes', content_diff(a.content, b.content)) AS doc
  FROM a, b
