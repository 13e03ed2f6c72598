-- A new edition of the district's column. $1 the validated body.
INSERT INTO editions (district_id, number, title, published_on, closes_at, choices)
SELECT d.id, ($1::jsonb ->> 'number')::integer, $1::jsonb ->> 'title',
       ($1::jsonb ->> 'published_on')::date, shanghai_parse($1::jsonb ->> 'closes_at'),
       coalesce(json_text_array($1::jsonb -> 'choices'), edition_default_choices())
  FROM districts d ORDER BY d.id LIMIT 1
RETURNING id
