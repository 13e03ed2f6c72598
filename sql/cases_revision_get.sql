-- One revision, whole. $1 case id, $2 version, $3 the editor's street or NULL.
SELECT json_build_object('version', r.version, 'saved_at', r.saved_at, 'saved_by', r.saved_by,
                         'saved_by_name', r.saved_by_name, 'content', r.content) AS doc
  FROM case_revisions r JOIN cases c ON c.id = r.case_id
 WHERE r.case_id = $1::bigint AND r.version = $2::integer
   AND ($3::bigint IS NULL OR c.street_id = $3::bigint)
