-- A draft that came back carries why: case_docs' returned is the reject
-- (its note, who, when) when that is the draft's latest event, else null.
-- The console's first screen showed an editor's returned drafts by asking
-- each draft's whole history, one request per draft; the list now says it.
CREATE OR REPLACE VIEW case_docs WITH (security_invoker = true) AS
SELECT c.id, c.street_id, c.community_id, c.state, c.edition_id, c.version,
       jsonb_build_object(
           'id', c.id, 'community_id', c.community_id, 'community_name', m.name,
           'street_id', c.street_id, 'street_name', s.name, 'state', c.state,
           'title', c.title, 'problem', c.problem, 'actions', c.actions,
           'testimonial', jsonb_build_object('text', c.testimonial_text,
                                             'speaker', c.testimonial_speaker,
                                             'post', c.testimonial_post),
           'photos', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                   'id', p.id, 'url', '/api/photos/' || p.sha256,
                                   'caption', p.caption, 'position', p.position,
                                   'media_type', p.media_type, 'width', p.width,
                                   'height', p.height) ORDER BY p.position)
                                 FROM case_photos p WHERE p.case_id = c.id), '[]'),
           'committee', jsonb_build_object('elected_on', m.committee_elected_on,
                                           'size', m.committee_size,
                                           'secretary_name', m.secretary_name,
                                           'secretary_post', m.secretary_post),
           'edition_id', c.edition_id, 'edition_number', ed.number,
           'version', c.version, 'created_at', c.created_at, 'updated_at', c.updated_at,
           'returned', CASE WHEN c.state = 'draft' THEN
               (SELECT CASE WHEN e.action = 'reject' THEN
                           jsonb_build_object('note', e.note, 'actor', e.actor, 'at', e.at) END
                  FROM case_events e WHERE e.case_id = c.id ORDER BY e.id DESC LIMIT 1) END) AS doc
  FROM cases c
  JOIN communities m ON m.id = c.community_id
  JOIN streets s ON s.id = c.street_id
  LEFT JOIN editions ed ON ed.id = c.edition_id;
