-- A photo's bytes, if the caller may read a case that shows it. $1 sha256.
SELECT media_type, bytes FROM photo_blobs WHERE sha256 = $1::text
