-- The audit trail, newest first. $1 entity or NULL, $2 entity id or NULL,
-- $3 only entries older than this id or NULL, $4 page size.
SELECT coalesce(json_agg(json_build_object('id', a.id, 'at', a.at, 'actor_id', a.actor_id,
                                           'actor', a.actor, 'request_id', a.request_id,
                                           'entity', a.entity, 'entity_id', a.entity_id,
                                           'action', a.action, 'changes', a.changes)
                         ORDER BY a.id DESC), '[]') AS doc
  FROM (SELECT * FROM audit_log
         WHERE ($1::text IS NULL OR entity = $1::text)
           AND ($2::bigint IS NULL OR entity_id = $2::bigint)
           AND ($3::bigint IS NULL OR id < $3::bigint)
         ORDER BY id DESC
         LIMIT $4::integer) AS a
