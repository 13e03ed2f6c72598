-- Renames a street. $1 id, $2 the validated body.
UPDATE streets SET name = coalesce($2::jsonb ->> 'name', name)
 WHERE id = $1::bigint
RETURNING id
