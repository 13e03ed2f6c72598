-- A new staff account. $1 username, $2 display name, $3 role, $4 street (name or id, or ''),
-- $5 the password's Argon2id hash. No row when $4 names no street.
INSERT INTO staff_users (username, display_name, role, street_id, password_hash)
SELECT lower($1), $2, $3, s.id, $5
  FROM (SELECT NULL::bigint AS id WHERE $4 = ''
        UNION ALL
        SELECT id FROM streets WHERE $4 <> '' AND (name = $4 OR id::text = $4)) AS s
RETURNING id
