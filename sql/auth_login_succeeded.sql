-- A reserved sign-in's password was right: clears the account's failures and
-- gives the address its attempt back. $1 username, $2 address key,
-- $3 address lock after.
SELECT auth_login_succeeded($1::text, $2::text, $3::integer) AS done
