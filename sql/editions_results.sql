-- An edition's results as JSON (doc) and CSV (csv). $1 the edition's id.
SELECT doc::text AS doc, csv FROM edition_results($1::bigint) WHERE doc IS NOT NULL
