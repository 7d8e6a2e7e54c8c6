-- Issue 18 §1, R23: the registration business (登记业务) is a matter of every authority's
-- catalogue: a user granted it files registration business as a manager does. New authorities
-- get it with the rest of the catalogue (`grants::seed_catalogue`); existing ones get it here,
-- unless their administrators named a matter so already.
INSERT INTO matter (id, authority_id, name_zh, name_en, status, created_at)
SELECT a.id || '-registration', a.id, '登记业务', 'Registration business', 'active', a.created_at + 6
FROM authority a
WHERE NOT EXISTS (SELECT 1 FROM matter m WHERE m.authority_id = a.id AND m.name_zh = '登记业务');
