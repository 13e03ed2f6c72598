-- Stores a new refresh token (its SHA-256) for a sign-in. $1 user id, $2 hash (hex), $3 ttl ms.
SELECT auth_refresh_issue($1::bigint, decode($2::text, 'hex'), $3::bigint)
