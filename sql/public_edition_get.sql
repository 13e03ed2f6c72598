-- One edition with its cases, as the public reads it. $1 its number.
SELECT doc::text AS doc FROM public_edition_docs WHERE number = $1::integer
