-- Why a write found no row: the case's state and version as the caller
-- sees it (no row: not visible). $1 id, $2 the editor's street or NULL.
SELECT state, version FROM cases
 WHERE id = $1::bigint AND ($2::bigint IS NULL OR street_id = $2::bigint)
