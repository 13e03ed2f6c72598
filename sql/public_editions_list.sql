-- The column's index: every edition the public may read, newest first.
SELECT coalesce(json_agg(doc ORDER BY number DESC), '[]') AS doc FROM public_edition_summaries
