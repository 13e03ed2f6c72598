-- A new draft. $1 the validated body, $2 the author's user id.
INSERT INTO cases (community_id, title, problem, actions, testimonial_text, testimonial_speaker,
                   testimonial_post, created_by)
VALUES (($1::jsonb ->> 'community_id')::bigint,
        coalesce($1::jsonb ->> 'title', ''),
        coalesce($1::jsonb ->> 'problem', ''),
        coalesce($1::jsonb -> 'actions', '[]'),
        coalesce($1::jsonb -> 'testimonial' ->> 'text', ''),
        coalesce($1::jsonb -> 'testimonial' ->> 'speaker', ''),
        coalesce($1::jsonb -> 'testimonial' ->> 'post', ''),
        $2::bigint)
RETURNING id
