-- Sets a new password (which also signs the account out everywhere). $1 username, $2 hash.
UPDATE staff_users SET password_hash = $2 WHERE username = lower($1) RETURNING id
