-- The signed-in account, as JSON.
SELECT json_build_object('id', u.id, 'username', u.username, 'display_name', u.display_name,
                         'role', u.role, 'street_id', u.street_id, 'street_name', s.name) AS doc
  FROM staff_users u LEFT JOIN streets s ON s.id = u.street_id
 WHERE u.id = portal_user_id()
