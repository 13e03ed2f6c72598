-- The newest applied migration in a database just restored.
SELECT coalesce(max(version), 0) AS version FROM schema_migrations
