-- Deletes ready-made answers made from an earlier generation, which no
-- reader can be served again, at most 1000 a run (the next run takes the
-- rest). Returns how many.
WITH outdated AS (
    SELECT d.key FROM public_documents d
     WHERE d.generation < (SELECT g.generation FROM public_generation g)
     LIMIT 1000),
gone AS (
    DELETE FROM public_documents d USING outdated o WHERE d.key = o.key RETURNING 1)
SELECT count(*) AS collected FROM gone
