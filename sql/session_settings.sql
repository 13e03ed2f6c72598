-- A connection's own settings, set once when it connects. $1 the statement
-- timeout in milliseconds, the same bound tx_settings gives each request's
-- transaction: here it bounds what runs outside one (a ready-made answer's
-- lookup and keeping, the idle collection, the health checks), so none can
-- wait on a lock until the pool kills the worker.
SELECT set_config('statement_timeout', $1, false)
