-- Marks a case changed (its photos), if it is still at the version the
-- client read: locks it, bumps its version, and its revision follows at
-- commit. $1 id, $2 that version.
UPDATE cases SET updated_at = now()
 WHERE id = $1::bigint AND version = $2::integer
RETURNING id, street_id
