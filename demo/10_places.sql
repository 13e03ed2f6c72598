-- Demo data for `make run` (never a migration): Bao'an district, its ten
-- streets, and the 26 communities that edition 13 of the seed and its list
-- of past editions name. Committee facts are filled where the seed gives
-- them. Safe to load twice.
SET portal.role = 'admin';
SET portal.actor = 'demo data';

INSERT INTO districts (name) VALUES ('宝安区') ON CONFLICT (name) DO NOTHING;

INSERT INTO streets (district_id, name)
SELECT d.id, s.name
  FROM districts d,
       unnest(ARRAY['新安街道','西乡街道','航城街道','福永街道','福海街道',
                    '沙井街道','新桥街道','松岗街道','燕罗街道','石岩街道']) AS s(name)
 WHERE d.name = '宝安区'
ON CONFLICT (district_id, name) DO NOTHING;

INSERT INTO communities (street_id, name, committee_elected_on, committee_size,
                         secretary_name, secretary_post)
SELECT st.id, c.community, c.elected::date, c.size, c.secretary, c.post
  FROM (VALUES
    ('新安街道', '新乐社区', NULL, NULL, NULL, NULL),
    ('新安街道', '布心社区', NULL, NULL, NULL, NULL),
    ('西乡街道', '流塘社区', NULL, NULL, NULL, NULL),
    ('沙井街道', '沙四社区', NULL, NULL, NULL, NULL),
    ('航城街道', '黄田社区', NULL, NULL, NULL, NULL),
    ('石岩街道', '龙腾社区', NULL, NULL, NULL, NULL),
    ('新桥街道', '象山社区', NULL, NULL, NULL, NULL),
    ('燕罗街道', '罗田社区', NULL, NULL, NULL, NULL),
    ('福永街道', '怀德社区', NULL, NULL, NULL, NULL),
    ('松岗街道', '潭头社区', NULL, NULL, NULL, NULL),
    ('福海街道', '新田社区', NULL, NULL, NULL, NULL),
    ('沙井街道', '和一社区', NULL, NULL, NULL, NULL),
    ('西乡街道', '福中福社区', NULL, NULL, NULL, NULL),
    ('松岗街道', '红星社区', NULL, NULL, NULL, NULL),
    ('新安街道', '兴东社区', NULL, NULL, NULL, NULL),
    ('石岩街道', '上屋社区', NULL, NULL, NULL, NULL),
    ('新桥街道', '新桥社区', NULL, NULL, NULL, NULL),
    ('燕罗街道', '燕川社区', NULL, NULL, NULL, NULL),
    ('西乡街道', '共乐社区', NULL, NULL, NULL, NULL),
    ('福永街道', '白石厦社区', NULL, NULL, NULL, NULL),
    ('沙井街道', '衙边社区', NULL, NULL, NULL, NULL),
    ('石岩街道', '水田社区', NULL, NULL, NULL, NULL),
    ('新安街道', '龙井社区', NULL, NULL, NULL, NULL),
    ('福海街道', '和平社区', NULL, NULL, NULL, NULL),
    ('沙井街道', '大王山社区', '2021-01-24', 9, '陈洪发', '社区党委书记、居委会主任'),
    ('燕罗街道', '塘下涌社区', '2021-01-27', 9, '黄少球', '社区党委书记、居委会主任')
  ) AS c(street, community, elected, size, secretary, post)
  JOIN streets st ON st.name = c.street
ON CONFLICT (street_id, name) DO NOTHING;
