-- Editions, newest first.
SELECT coalesce(json_agg(doc ORDER BY number DESC), '[]') FROM edition_docs
