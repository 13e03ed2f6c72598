-- Revokes a refresh token's family (sign-out). $1 hash (hex).
SELECT auth_refresh_revoke(decode($1::text, 'hex'))
