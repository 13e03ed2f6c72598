-- Changes the fields the body names, if the edition is at the version the
-- client read (the choices only until the vote opens). $1 id, $2 the
-- validated body, $3 that version.
UPDATE editions SET
    number = CASE WHEN $2::jsonb ? 'number' THEN ($2::jsonb ->> 'number')::integer ELSE number END,
    title = CASE WHEN $2::jsonb ? 'title' THEN $2::jsonb ->> 'title' ELSE title END,
    published_on = CASE WHEN $2::jsonb ? 'published_on'
                        THEN ($2::jsonb ->> 'published_on')::date ELSE published_on END,
    closes_at = CASE WHEN $2::jsonb ? 'closes_at'
                     THEN shanghai_parse($2::jsonb ->> 'closes_at') ELSE closes_at END,
    choices = coalesce(json_text_array($2::jsonb -> 'choices'), choices)
 WHERE id = $1::bigint AND version = $3::integer
RETURNING id
