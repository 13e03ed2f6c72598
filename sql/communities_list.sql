-- Communities, optionally of one street. $1 street id or NULL.
SELECT coalesce(json_agg(doc ORDER BY id), '[]') AS doc
  FROM community_docs
 WHERE $1::bigint IS NULL OR street_id = $1::bigint
