-- Disables an account: its tokens stop working on their next request. $1 username.
UPDATE staff_users SET disabled = true WHERE username = lower($1) RETURNING id
