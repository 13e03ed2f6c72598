-- Why an edition write found no row. $1 id.
SELECT state, version FROM editions WHERE id = $1::bigint
