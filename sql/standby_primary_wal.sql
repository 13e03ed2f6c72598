-- The standby check, on the primary: how far its WAL is flushed, which is
-- as far as a standby can have received it (and, with synchronous_commit
-- on, covers every commit anyone can see).
SELECT pg_current_wal_flush_lsn()::text AS lsn
