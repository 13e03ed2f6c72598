-- Cluster-level set-up the migrations cannot do themselves: the two roles
-- and the database. Run once per cluster as a superuser; safe to re-run.
--   portal_owner  owns the schema; migrations and portalctl run as it.
--   portal_app    what portald connects as: no ownership, no BYPASSRLS,
--                 only the grants the migrations give it.
--   portal_auth   no login; owns the sign-in functions (SECURITY DEFINER),
--                 the only role that reads password hashes and refresh
--                 tokens. portal_owner may hand objects to it.
--   portal_workflow no login; owns the workflow functions (SECURITY
--                 DEFINER): the only role whose statements may change a
--                 case's or an edition's state, and only along the
--                 transitions the case_actions table lists.
SELECT 'CREATE ROLE portal_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'portal_owner') \gexec
SELECT 'CREATE ROLE portal_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'portal_app') \gexec
SELECT 'CREATE ROLE portal_auth NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'portal_auth') \gexec
SELECT 'CREATE ROLE portal_workflow NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'portal_workflow') \gexec
GRANT portal_auth TO portal_owner;
GRANT portal_workflow TO portal_owner;
SELECT 'CREATE DATABASE portal OWNER portal_owner ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'portal') \gexec
REVOKE ALL ON DATABASE portal FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE portal TO portal_app;
\connect portal
ALTER SCHEMA public OWNER TO portal_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO portal_app;
GRANT USAGE, CREATE ON SCHEMA public TO portal_auth;
GRANT USAGE, CREATE ON SCHEMA public TO portal_workflow;
