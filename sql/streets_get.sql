-- One street. $1 id.
SELECT doc FROM street_docs WHERE id = $1::bigint
