-- Opens a public read's transaction (on the read standby, or on the primary
-- when the standby cannot serve): read-only, so a route marked as a read
-- that tries to write fails on the primary too, not only on the standby.
BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY
