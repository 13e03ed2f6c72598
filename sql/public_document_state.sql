-- What a public answer built in this transaction's snapshot is good for
-- (run in the same repeatable-read transaction as the statements that
-- built it): the generation it saw, the snapshot's time, and, while any
-- edition takes votes (counts move without moving the generation), the
-- moment it stops being fresh.
SELECT g.generation, now() AS built_at,
       CASE WHEN EXISTS (SELECT 1 FROM editions e WHERE e.state = 'voting')
            THEN now() + interval '1 second' END AS fresh_until
  FROM public_generation g
