-- A new street in the district. $1 the validated body.
INSERT INTO streets (district_id, name)
SELECT id, $1::jsonb ->> 'name' FROM districts ORDER BY id LIMIT 1
RETURNING id
