-- The newest applied migration, for /readyz: one indexed read.
SELECT coalesce(max(version), 0) AS version FROM schema_migrations
