-- One case and its version (the ETag); $2 (the editor's street, or NULL)
-- narrows it. $1 id.
SELECT doc, version FROM case_docs
 WHERE id = $1::bigint AND ($2::bigint IS NULL OR street_id = $2::bigint)
