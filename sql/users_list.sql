-- Staff accounts. $1 role or NULL, $2 street id or NULL.
SELECT coalesce(json_agg(d.doc ORDER BY d.id), '[]') AS doc
  FROM staff_user_docs d JOIN staff_users u ON u.id = d.id
 WHERE ($1::text IS NULL OR u.role = $1::text) AND ($2::bigint IS NULL OR u.street_id = $2::bigint)
