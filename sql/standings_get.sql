-- The column's standings across editions, as JSON (doc) and CSV (csv).
SELECT doc::text AS doc, csv FROM column_standings()
