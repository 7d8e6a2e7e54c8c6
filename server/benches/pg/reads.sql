\set k random(1, 64)
\set n random(1, 1000000)
\set r random(1, 999999999999)
\set now 1796500000000
\set win 600000
\set tries 10
\set kp :k % 8 + 1
SELECT k.id AS kid, k.name AS kname, p.id AS partyid, p.name AS pname, k.window_start, k.window_failures FROM counter_session s JOIN counter k ON k.id = s.counter_id JOIN relying_party p ON p.id = k.party_id WHERE s.token_hash = 'tok' || :k AND s.ended_at IS NULL AND s.expires_at > :now AND k.status = 'active' AND p.status = 'active' \gset
SELECT p.id AS pid, p.certificate_id AS cid, p.holder_id AS hid, p.grant_id, p.expires_at, i.name AS institution_name, i.credit_code, i.address AS institution_address, c.serial, i.legal_rep_name, h.name AS holder_name, h.id_number AS holder_id_number, h.role, g.start_day, g.end_day, p.public_checked_at FROM presentation p JOIN certificate c ON c.id = p.certificate_id JOIN institution i ON i.id = c.institution_id JOIN holder h ON h.id = p.holder_id JOIN device d ON d.id = p.device_id LEFT JOIN holder_grant g ON g.id = p.grant_id WHERE p.number_hash = md5('n' || :n) AND p.expires_at > :now AND p.voided_at IS NULL AND (d.status = 'active' AND h.status = 'active' AND c.status = 'active' AND c.expires_at > :now) AND (p.grant_id IS NULL OR (g.status = 'active' AND g.received_at IS NOT NULL AND g.start_day <= '2026-12-05' AND g.end_day >= '2026-12-05')) \gset
