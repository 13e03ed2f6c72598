-- Keeps a migration's work.
COMMIT
