-- A connection's own settings, set once when it connects. $1 the statement
-- timeout in milliseconds, the same bound tx_settings gives each request's
-- transaction: here it bounds what runs outside one (a ready-made answer's
-- lookup and keeping, the idle collection, the health checks), so none can
-- wait on a lock until the pool kills the worker. $2 the worker's count
-- shard, 0 to 15 ('' when it has no place in a pool): the count rows its
-- votes add to (votes_count in migrations/0019).
SELECT set_config('statement_timeout', $1, false),
       set_config('portal.vote_shard', $2, false)
