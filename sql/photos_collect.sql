-- Deletes photo bytes that no case photo and no revision names, last
-- uploaded more than $1 milliseconds ago, at most 200 a run (the next run
-- takes the rest). Returns how many and their bytes.
SELECT collected, bytes FROM photo_blobs_collect($1::bigint, 200)
