-- Closes the editions whose deadline has passed, as the system.
SELECT edition_id, number, cases_closed FROM editions_close_due()
