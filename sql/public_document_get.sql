-- A ready-made public answer, when one is still good (see migration 0012):
-- built since the generation last moved and, if it holds counts of an open
-- vote, not older than a second. $1 its key (the route and parameters).
SELECT d.content_type, d.body AS doc, d.etag
  FROM public_documents d
 WHERE d.key = $1
   AND d.generation = (SELECT g.generation FROM public_generation g)
   AND (d.fresh_until IS NULL OR d.fresh_until > statement_timestamp())
