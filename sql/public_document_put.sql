-- Keeps a public answer for the next reader, unless one built from a later
-- snapshot is already there. $1 key, $2 content type, $3 body, $4 ETag,
-- $5 generation, $6 built at, $7 fresh until (NULL: until the generation
-- moves), all from public_document_state. The same bytes again (counts of
-- an open vote that did not move) only move the times: the body's stored
-- copy is kept, not written again.
INSERT INTO public_documents AS d (key, content_type, body, etag, generation, built_at,
                                   fresh_until)
VALUES ($1, $2, $3, $4, $5::bigint, $6::timestamptz, $7::timestamptz)
ON CONFLICT (key) DO UPDATE
   SET content_type = EXCLUDED.content_type,
       body = CASE WHEN d.etag = EXCLUDED.etag THEN d.body ELSE EXCLUDED.body END,
       etag = EXCLUDED.etag, generation = EXCLUDED.generation, built_at = EXCLUDED.built_at,
       fresh_until = EXCLUDED.fresh_until
 WHERE (d.generation, d.built_at) < (EXCLUDED.generation, EXCLUDED.built_at)
