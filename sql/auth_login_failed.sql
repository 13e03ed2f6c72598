-- A reserved sign-in's password was wrong: its failure stays counted and the
-- account's wait runs from now. $1 username, $2 lock ms, $3 slow after,
-- $4 slow ms.
SELECT auth_login_failed($1::text, $2::bigint, $3::integer, $4::bigint) AS done
