-- Every street, as a JSON array.
SELECT coalesce(json_agg(doc ORDER BY id), '[]') AS doc FROM street_docs
