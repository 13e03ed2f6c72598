-- One migration runner at a time, across hosts.
SELECT pg_advisory_lock(hashtext('portal.migrations'))
