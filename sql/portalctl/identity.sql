-- Says, for row-level security and the audit trail, that the district
-- admin's command line is acting in this transaction.
SELECT set_config('portal.role', 'admin', true), set_config('portal.actor', 'portalctl', true)
