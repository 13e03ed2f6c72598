-- A new staff account. $1 the validated body (without the password), $2 its Argon2id hash.
INSERT INTO staff_users (username, display_name, role, street_id, password_hash)
VALUES (lower($1::jsonb ->> 'username'), $1::jsonb ->> 'display_name', $1::jsonb ->> 'role',
        ($1::jsonb ->> 'street_id')::bigint, $2::text)
RETURNING id
