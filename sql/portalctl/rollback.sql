-- Undoes a failed migration.
ROLLBACK
