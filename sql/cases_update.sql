-- Changes the fields the body names, if the case is still at the version
-- the client read. $1 id, $2 the validated body, $3 that version.
UPDATE cases SET
    title = CASE WHEN $2::jsonb ? 'title' THEN $2::jsonb ->> 'title' ELSE title END,
    problem = CASE WHEN $2::jsonb ? 'problem' THEN $2::jsonb ->> 'problem' ELSE problem END,
    actions = CASE WHEN $2::jsonb ? 'actions' THEN $2::jsonb -> 'actions' ELSE actions END,
    testimonial_text = CASE WHEN $2::jsonb -> 'testimonial' ? 'text'
                            THEN $2::jsonb -> 'testimonial' ->> 'text' ELSE testimonial_text END,
    testimonial_speaker = CASE WHEN $2::jsonb -> 'testimonial' ? 'speaker'
                               THEN $2::jsonb -> 'testimonial' ->> 'speaker'
                               ELSE testimonial_speaker END,
    testimonial_post = CASE WHEN $2::jsonb -> 'testimonial' ? 'post'
                            THEN $2::jsonb -> 'testimonial' ->> 'post' ELSE testimonial_post END
 WHERE id = $1::bigint AND version = $3::integer
RETURNING id
