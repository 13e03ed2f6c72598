-- Ends a request's transaction, keeping its work.
COMMIT
