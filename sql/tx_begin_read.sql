-- Opens a public read's transaction (on the read standby, or on the primary
-- when the standby cannot serve): read-only, so a route marked as a read
-- that tries to write fails on the primary too, not only on the standby;
-- repeatable read, so every statement of the answer, and the generation a
-- ready-made copy of it records (public_document_state), see one snapshot.
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY
