-- The standby check, on the standby. $1 the primary's flushed WAL position
-- read just before (NULL when the primary could not be asked).
-- caught_up: everything up to it is replayed, so the standby holds all the
-- primary held when the check began. replay_age_us: how long ago the newest
-- transaction it replayed committed (NULL when it replayed none since it
-- started); it grows on an idle primary too, so it is only a bound.
SELECT pg_is_in_recovery() AS in_recovery,
       coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS caught_up,
       (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())
        * 1000000)::bigint AS replay_age_us
