-- A connection's own settings, set once when it connects. $1 the statement
-- timeout in milliseconds, the same bound tx_settings gives each request's
-- transaction: here it bounds what runs outside one (a ready-made answer's
-- lookup and keeping, the idle collection, the health checks, a vote), so
-- none can wait on a lock until the pool kills the worker. $2 the worker's
-- count shard, 0 to 15 ('' when it has no place in a pool): the count rows
-- its votes add to (votes_count in migrations/0019). A statement sent
-- alone runs at the isolation level it finds here, whatever the role's or
-- the database's default: a vote must run at read committed, each of its
-- statements with a fresh snapshot, to see a close that committed while it
-- waited for the edition's lock (migrations/0007), as tx_begin's BEGIN
-- says for every transaction.
SELECT set_config('statement_timeout', $1, false),
       set_config('portal.vote_shard', $2, false),
       set_config('default_transaction_isolation', 'read committed', false)
