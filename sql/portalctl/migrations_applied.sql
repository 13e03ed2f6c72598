-- Applied migrations, oldest first.
SELECT version, name, checksum, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SSOF') FROM schema_migrations ORDER BY version
