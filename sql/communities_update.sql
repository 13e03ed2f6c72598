-- Changes the fields the body names (null clears). $1 id, $2 the validated body.
UPDATE communities SET
    street_id = CASE WHEN $2::jsonb ? 'street_id'
                     THEN ($2::jsonb ->> 'street_id')::bigint ELSE street_id END,
    name = CASE WHEN $2::jsonb ? 'name' THEN $2::jsonb ->> 'name' ELSE name END,
    committee_elected_on = CASE WHEN $2::jsonb ? 'committee_elected_on'
                                THEN ($2::jsonb ->> 'committee_elected_on')::date
                                ELSE committee_elected_on END,
    committee_size = CASE WHEN $2::jsonb ? 'committee_size'
                          THEN ($2::jsonb ->> 'committee_size')::integer ELSE committee_size END,
    secretary_name = CASE WHEN $2::jsonb ? 'secretary_name'
                          THEN $2::jsonb ->> 'secretary_name' ELSE secretary_name END,
    secretary_post = CASE WHEN $2::jsonb ? 'secretary_post'
                          THEN $2::jsonb ->> 'secretary_post' ELSE secretary_post END
 WHERE id = $1::bigint
RETURNING id
