-- Trades a refresh token for the next one. $1 old hash (hex), $2 new hash
-- (hex), $3 ttl ms, $4 grace ms, $5 the family's lifetime in ms.
SELECT outcome, coalesce(user_id, 0) AS user_id, coalesce(token_version, 0) AS token_version,
       coalesce(expires_in, 0) AS expires_in
  FROM auth_refresh_rotate(decode($1::text, 'hex'), decode($2::text, 'hex'), $3::bigint,
                           $4::bigint, $5::bigint)
