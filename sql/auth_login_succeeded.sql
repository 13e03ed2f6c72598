-- Clears an account's failed sign-ins; returns its lock if one had ended.
-- $1 username.
SELECT 'lock_ended', key, 0,
       to_char(locked_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  FROM auth_login_succeeded($1::text)
