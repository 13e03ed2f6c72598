-- Clears an account's failed sign-ins. $1 username.
SELECT auth_login_succeeded($1::text)
