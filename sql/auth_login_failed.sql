-- Counts a failed sign-in; returns the locks it found ended and the keys it
-- locked. $1 username, $2 address, $3 lock after, $4 address lock after,
-- $5 lock ms, $6 slow after, $7 slow ms.
SELECT event, key, failures,
       to_char(locked_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS locked_until
  FROM auth_login_failed($1::text, $2::text, $3::integer, $4::integer, $5::bigint,
                         $6::integer, $7::bigint)
