-- Every street, as a JSON array.
SELECT coalesce(json_agg(doc ORDER BY id), '[]') FROM street_docs
