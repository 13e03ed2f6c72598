-- What a new access token says about an account. $1 user id, $2 its current token version.
SELECT user_id, username, role, coalesce(street_id, 0) AS street_id
  FROM auth_session($1::bigint, $2::integer)
