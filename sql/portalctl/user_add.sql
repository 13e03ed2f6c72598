-- A new staff account. $1 username, $2 display name, $3 role, $4 street (name or id, or ''),
-- $5 the password's Argon2id hash.
INSERT INTO staff_users (username, display_name, role, street_id, password_hash)
VALUES (lower($1), $2, $3,
        (SELECT id FROM streets WHERE $4 <> '' AND (name = $4 OR id::text = $4)), $5)
RETURNING id
