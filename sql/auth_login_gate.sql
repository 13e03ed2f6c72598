-- Whether a sign-in may be tried now: wait_ms 0 means yes. $1 username, $2 client address.
SELECT wait_ms, locked FROM auth_login_gate($1::text, $2::text)
