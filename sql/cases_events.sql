-- A case's history, oldest first; NULL when the case is not visible.
-- $1 id, $2 the editor's street or NULL.
SELECT CASE WHEN EXISTS (SELECT 1 FROM cases
                          WHERE id = $1::bigint AND ($2::bigint IS NULL OR street_id = $2::bigint))
       THEN (SELECT coalesce(json_agg(json_build_object(
                        'id', e.id, 'action', e.action, 'from', e.from_state, 'to', e.to_state,
                        'actor_id', e.actor_id, 'actor', e.actor, 'note', e.note,
                        'edition_id', e.edition_id, 'version', e.version, 'at', e.at)
                        ORDER BY e.id), '[]')
               FROM case_events e WHERE e.case_id = $1::bigint) END AS doc
