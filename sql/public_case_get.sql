-- One case with its edition's choices and counts, as the public reads it. $1 id.
SELECT doc::text AS doc FROM public_case_docs WHERE id = $1::bigint
