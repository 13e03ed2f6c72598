-- Stores a photo's bytes (once per content; stored again, they are touched
-- so the collector keeps them). $1 sha256 (hex), $2 media type, $3 width,
-- $4 height, $5 the bytes (binary). created: the bytes were new.
SELECT photo_blob_store($1::text, $2::text, $3::integer, $4::integer, $5::bytea) AS created
