-- One edition and its version (the ETag). $1 id.
SELECT doc, version FROM edition_docs WHERE id = $1::bigint
