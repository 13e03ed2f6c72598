-- What a backup or a restore is about to touch: the database, whether the
-- role may read every row (a superuser: row-level security is forced even
-- on the schema's owner) and how many relations the public schema holds
-- (a restore goes only into an empty one, as bootstrap.sql leaves it).
SELECT current_database() AS database,
       (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS superuser,
       (SELECT count(*) FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public') AS relations
