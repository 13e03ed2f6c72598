-- A case's revisions, oldest first, without their content; NULL when the
-- case is not visible. $1 id, $2 the editor's street or NULL.
SELECT CASE WHEN EXISTS (SELECT 1 FROM cases
                          WHERE id = $1::bigint AND ($2::bigint IS NULL OR street_id = $2::bigint))
       THEN (SELECT coalesce(json_agg(json_build_object(
                        'version', r.version, 'saved_at', r.saved_at, 'saved_by', r.saved_by,
                        'saved_by_name', r.saved_by_name) ORDER BY r.version), '[]')
               FROM case_revisions r WHERE r.case_id = $1::bigint) END AS doc
