-- Opens a request's transaction; tx_settings follows in the same transaction.
BEGIN ISOLATION LEVEL READ COMMITTED
