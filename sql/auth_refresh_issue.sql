-- Stores a sign-in's first refresh token (its SHA-256), starting its family.
-- $1 user id, $2 hash (hex), $3 ttl ms, $4 the family's lifetime in ms.
SELECT auth_refresh_issue($1::bigint, decode($2::text, 'hex'), $3::bigint, $4::bigint) AS done
