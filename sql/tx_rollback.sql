-- Ends a request's transaction, undoing its work (any failed request).
ROLLBACK
