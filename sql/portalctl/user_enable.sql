-- Re-enables an account. $1 username.
UPDATE staff_users SET disabled = false WHERE username = lower($1) RETURNING id
