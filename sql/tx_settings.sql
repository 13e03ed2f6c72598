-- Per-transaction settings (set_config(..., true) lasts until COMMIT or
-- ROLLBACK: nothing a request sets outlives its transaction).
-- $1 request id, $2 statement timeout in milliseconds.
SELECT set_config('portal.request_id', $1, true),
       set_config('statement_timeout', $2, true)
