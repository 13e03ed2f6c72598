-- Demo staff accounts for `make run` (never a migration). Every password is
-- "portal-demo"; the hashes are Argon2id (libsodium crypto_pwhash_str).
-- Safe to load twice.
SET portal.role = 'admin';
SET portal.actor = 'demo data';

INSERT INTO staff_users (username, display_name, role, street_id, password_hash)
SELECT u.username, u.display_name, u.role, st.id, u.hash
  FROM (VALUES
    ('shajing', '沙井街道编辑', 'editor', '沙井街道',
     '$argon2id$v=19$m=65536,t=2,p=1$tptUX4ugXIBYvhUdtDhRWQ$XCo4NaQ9ERD9AkHcbr5RkyZPQvm8q66LIcK1WRCHfT0'),
    ('yanluo', '燕罗街道编辑', 'editor', '燕罗街道',
     '$argon2id$v=19$m=65536,t=2,p=1$v1TCQcS/QC7dGp8txkummg$vJFeZ332OH2NXyaqgvrDj98wCHV4/XJEOH6cYDuOHao'),
    ('reviewer', '区委组织部审核员', 'reviewer', NULL,
     '$argon2id$v=19$m=65536,t=2,p=1$jtvGrzIrywS1hwSHZAOSxA$h1KMNHG+60tmWSWYyAyJpZEiaFrPyfvvR6OTnV8K94s'),
    ('admin', '区管理员', 'admin', NULL,
     '$argon2id$v=19$m=65536,t=2,p=1$sPjBKpRSyBMK0t1LhhwknA$FKZhgCmU4/JrMGbuxnd80qG88BYcC/iWZtkC1HVKHtI')
  ) AS u(username, display_name, role, street, hash)
  LEFT JOIN streets st ON st.name = u.street
ON CONFLICT (username) DO NOTHING;
