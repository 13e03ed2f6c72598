-- Opens a migration's transaction.
BEGIN
