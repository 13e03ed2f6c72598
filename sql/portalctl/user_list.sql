-- Every staff account, for the operator.
SELECT u.id, u.username, u.role, coalesce(s.name, ''), CASE WHEN u.disabled THEN 'disabled' ELSE 'active' END,
       u.display_name
  FROM staff_users u LEFT JOIN streets s ON s.id = u.street_id
 ORDER BY u.id
