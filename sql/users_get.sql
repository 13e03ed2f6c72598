-- One staff account. $1 id.
SELECT doc FROM staff_user_docs WHERE id = $1::bigint
