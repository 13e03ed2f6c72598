-- Sets an account's password (the application role may write the hash but
-- never read it). $1 id, $2 the new Argon2id hash.
UPDATE staff_users SET password_hash = $2::text WHERE id = $1::bigint RETURNING id
