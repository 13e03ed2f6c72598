-- Editions, newest first.
SELECT coalesce(json_agg(doc ORDER BY number DESC), '[]') AS doc FROM edition_docs
