-- The benchmark's data set, loaded as portal_owner into the bench's own
-- private stack after the demo (never in the tests): :editions editions
-- after the demo's 13 (numbers 14 on), each with :cases cases written by
-- the editors of random streets with three photos each, submitted, approved,
-- opened, voted on (0 to :max_votes votes per case, through the votes
-- table and its triggers, as vote_cast stores them) and closed, as the
-- workflow functions do it. The texts are the demo's edition 13 cases',
-- numbered; the photos are the demo's PNG with distinct bytes appended
-- (readers ignore what follows IEND), so each has its own content and
-- name. Edition 13 stays as the demo left it, open for voting.
--   psql -v editions=150 -v cases=2 -v max_votes=400 -f bench/data.sql
SET portal.actor = 'bench data';
SELECT set_config('bench.editions', :'editions', false),
       set_config('bench.cases', :'cases', false),
       set_config('bench.max_votes', :'max_votes', false);

DO $bench$
DECLARE
    n_editions integer := current_setting('bench.editions')::integer;
    n_cases integer := current_setting('bench.cases')::integer;
    max_votes integer := current_setting('bench.max_votes')::integer;
    district bigint := (SELECT id FROM districts WHERE name = '宝安区');
    first_number integer := (SELECT max(number) + 1 FROM editions);
    png bytea := (SELECT b.bytes FROM photo_blobs b ORDER BY b.sha256 LIMIT 1);
    model cases;
    models cases[] := ARRAY(SELECT c FROM cases c JOIN editions e ON e.id = c.edition_id
                             WHERE e.number = 13 ORDER BY c.id);
    community record;
    edition bigint;
    case_id bigint;
    outcome text;
    blob bytea;
    sha text;
    choices text[];
    k integer;
BEGIN
    SET LOCAL synchronous_commit = off;
    FOR n IN first_number .. first_number + n_editions - 1 LOOP
        PERFORM set_config('portal.role', 'reviewer', true);
        INSERT INTO editions (district_id, number, title, published_on)
        VALUES (district, n, '第' || n || '期 基准数据', current_date - (first_number + n_editions - n) * 14)
        RETURNING id, editions.choices INTO edition, choices;
        FOR i IN 1 .. n_cases LOOP
            model := models[1 + (n + i) % cardinality(models)];
            SELECT c.id, c.street_id, c.name INTO community
              FROM communities c ORDER BY random() LIMIT 1;
            PERFORM set_config('portal.role', 'editor', true);
            PERFORM set_config('portal.street_id', community.street_id::text, true);
            INSERT INTO cases (community_id, title, problem, actions, testimonial_text,
                               testimonial_speaker, testimonial_post)
            VALUES (community.id, left(community.name || ':' || model.title || '(' || n || '-' || i || ')', 200),
                    model.problem, model.actions, model.testimonial_text,
                    model.testimonial_speaker, model.testimonial_post)
            RETURNING id INTO case_id;
            FOR p IN 1 .. 3 LOOP
                -- about 24 KiB: the PNG, then distinct filler
                blob := png || convert_to(repeat(md5(n || '/' || i || '/' || p), 768), 'UTF8');
                sha := encode(sha256(blob), 'hex');
                PERFORM photo_blob_store(sha, 'image/png', 64, 48, blob);
                INSERT INTO case_photos (case_id, street_id, sha256, position, caption)
                VALUES (case_id, community.street_id, sha, p, '现场照片 ' || p);
            END LOOP;
            UPDATE cases SET updated_at = now() WHERE id = case_id;
            SELECT t.outcome INTO outcome FROM case_transition(case_id, 'submit', NULL, NULL, NULL) t;
            ASSERT outcome = 'ok', 'submit: ' || outcome;
            PERFORM set_config('portal.role', 'reviewer', true);
            SELECT t.outcome INTO outcome FROM case_transition(case_id, 'approve', NULL, edition, NULL) t;
            ASSERT outcome = 'ok', 'approve: ' || outcome;
        END LOOP;
        PERFORM set_config('portal.role', 'reviewer', true);
        SELECT t.outcome INTO outcome
          FROM edition_transition(edition, 'open', now() + interval '1 day', NULL) t;
        ASSERT outcome = 'ok', 'open: ' || outcome;
        FOR case_id IN SELECT c.id FROM cases c WHERE c.edition_id = edition LOOP
            k := floor(random() * (max_votes + 1))::integer;
            INSERT INTO votes (case_id, choice, voter, receipt)
            SELECT case_id, choices[1 + floor(random() * random() * cardinality(choices))::integer],
                   md5(case_id || ':' || g), md5(random()::text || g)
              FROM generate_series(1, k) AS g;
        END LOOP;
        SELECT t.outcome INTO outcome FROM edition_transition(edition, 'close', NULL, NULL) t;
        ASSERT outcome = 'ok', 'close: ' || outcome;
    END LOOP;
END
$bench$;

ANALYZE editions, cases, case_photos, photo_blobs, case_events, case_revisions, votes,
        vote_counts;
