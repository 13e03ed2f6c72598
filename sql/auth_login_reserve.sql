-- Counts a sign-in attempt as a failure before its password is checked, or
-- says how long it must wait: one row with event 'go' or 'wait' (wait_ms,
-- locked), and on 'go' the keys it found unlocked or locked ('lock_ended',
-- 'locked'). $1 username, $2 address key, $3 lock after, $4 address lock
-- after, $5 lock ms, $6 slow after, $7 slow ms.
SELECT event, key, failures, wait_ms, locked,
       to_char(locked_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS locked_until
  FROM auth_login_reserve($1::text, $2::text, $3::integer, $4::integer, $5::bigint,
                          $6::integer, $7::bigint)
