-- Says, for row-level security and the audit trail, that the district
-- admin's command line is acting in this transaction, and whether the
-- connection is the schema's owner: the command line refuses the
-- application role, which could otherwise claim to be an admin too.
SELECT set_config('portal.role', 'admin', true), set_config('portal.actor', 'portalctl', true),
       pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'staff_users'::regclass),
                   'USAGE'),
       current_user
