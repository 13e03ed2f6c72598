-- A new community. $1 the validated body.
INSERT INTO communities (street_id, name, committee_elected_on, committee_size, secretary_name,
                         secretary_post)
VALUES (($1::jsonb ->> 'street_id')::bigint, $1::jsonb ->> 'name',
        ($1::jsonb ->> 'committee_elected_on')::date, ($1::jsonb ->> 'committee_size')::integer,
        $1::jsonb ->> 'secretary_name', $1::jsonb ->> 'secretary_post')
RETURNING id
