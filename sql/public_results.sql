-- An edition's results: per case, the count of each choice, the case's
-- total and each choice's share of it. $1 the edition's number.
WITH e AS (SELECT * FROM editions WHERE number = $1::integer),
counted AS (
    SELECT d.id, d.doc, (SELECT coalesce(sum(value::bigint), 0)
                           FROM json_each_text(d.doc -> 'votes')) AS total
      FROM public_case_docs d, e WHERE d.edition_id = e.id)
SELECT json_build_object(
           'number', e.number, 'title', e.title, 'state', e.state,
           'closes_at', shanghai_time(e.closes_at), 'closed_at', shanghai_time(e.closed_at),
           'voting', edition_voting_now(e), 'choices', to_json(e.choices),
           'total', (SELECT coalesce(sum(total), 0) FROM counted),
           'cases', coalesce((SELECT json_agg(json_build_object(
                                  'id', c.id, 'title', c.doc ->> 'title',
                                  'community_name', c.doc ->> 'community_name',
                                  'street_name', c.doc ->> 'street_name',
                                  'votes', c.doc -> 'votes', 'total', c.total,
                                  'shares', (SELECT json_object_agg(t.ch,
                                                 CASE WHEN c.total = 0 THEN 0
                                                      ELSE round((c.doc -> 'votes' ->> t.ch)::numeric
                                                                 / c.total, 4) END
                                                 ORDER BY t.ord)
                                               FROM unnest(e.choices) WITH ORDINALITY
                                                    AS t (ch, ord)))
                                  ORDER BY c.id) FROM counted c), '[]')) AS doc
  FROM e
 WHERE e.state <> 'published' OR EXISTS (SELECT 1 FROM counted)
