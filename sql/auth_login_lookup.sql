-- The account a sign-in names (no row when there is none). $1 username.
SELECT user_id, password_hash, disabled, token_version, username, role, coalesce(street_id, 0) AS street_id
  FROM auth_login_lookup($1::text)
