-- A reviewer's correction that adds a picture to a published case, or puts
-- it in place of one (see case_photo_correct in migrations/0018). $1 case
-- id, $2 sha256, $3 media type, $4 width, $5 height, $6 the bytes, $7
-- caption (NULL: none, or the replaced photo's), $8 the reason, $9 the
-- version it corrects, $10 the photo it replaces (NULL: added at the end).
SELECT outcome, state, version, to_json(coalesce(allowed, '{}'))::text AS allowed, detail
  FROM case_photo_correct($1::bigint, $2::text, $3::text, $4::integer, $5::integer, $6::bytea,
                          $7::text, $8::text, $9::integer, $10::bigint)
