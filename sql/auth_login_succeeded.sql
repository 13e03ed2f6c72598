-- Clears an account's failed sign-ins; returns its lock if one had ended.
-- $1 username.
SELECT 'lock_ended' AS event, key, 0 AS failures,
       to_char(locked_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS locked_until
  FROM auth_login_succeeded($1::text)
