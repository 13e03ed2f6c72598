-- Releases migrations_lock.
SELECT pg_advisory_unlock(hashtext('portal.migrations'))
