-- The signed-in account, if its token is still current, and the
-- transaction's identity set from the account row (not from the token).
-- $1 user id, $2 the token's version.
SELECT s.user_id, s.username, s.role, coalesce(s.street_id, 0) AS street_id,
       set_config('portal.user_id', s.user_id::text, true),
       set_config('portal.role', s.role, true),
       set_config('portal.street_id', coalesce(s.street_id::text, ''), true)
  FROM auth_session($1::bigint, $2::integer) AS s
