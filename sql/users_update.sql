-- Changes the fields the body names. $1 id, $2 the validated body (without the password).
UPDATE staff_users SET
    display_name = coalesce($2::jsonb ->> 'display_name', display_name),
    role = coalesce($2::jsonb ->> 'role', role),
    street_id = CASE WHEN $2::jsonb ? 'street_id'
                     THEN ($2::jsonb ->> 'street_id')::bigint ELSE street_id END,
    disabled = coalesce(($2::jsonb ->> 'disabled')::boolean, disabled)
 WHERE id = $1::bigint
RETURNING id
