-- Whether the editor's street may hold $2 more photo bytes named $1 (sha256)
-- within its quota $3: used is what it holds now, fits the answer (bytes it
-- already holds cost nothing). Holds the street's upload lock until commit.
SELECT used, fits FROM photo_quota_check($1::text, $2::bigint, $3::bigint)
