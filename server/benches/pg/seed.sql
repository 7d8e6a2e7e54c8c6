-- The counter check's tables for server/benches/pg/run: 100,000 institutions with their first
-- managers and devices, 8 parties with 64 counters signed in, a million presented sets.
\set N 100000
INSERT INTO authority VALUES ('a0','全国','national',NULL,'000000',0);
INSERT INTO staff (id, authority_id, username, display_name, password_hash, is_admin, created_at) VALUES ('s0','a0','s0','s0','x',true,0);
INSERT INTO relying_party (id, authority_id, name, client_secret_hash, redirect_uris, status, created_by, created_at)
  SELECT 'p'||g, 'a0', 'party '||g, 'x', '', 'active', 's0', 0 FROM generate_series(1,8) g;
INSERT INTO counter (id, party_id, name, username, password_hash, status, created_at)
  SELECT 'k'||g, 'p'||(g%8+1), 'counter '||g, 'k'||g, 'x', 'active', 0 FROM generate_series(1,64) g;
INSERT INTO counter_session SELECT 'tok'||g, 'k'||g, 0, 9e15::bigint, NULL FROM generate_series(1,64) g;
INSERT INTO institution SELECT 'i'||g, 'a0', 'cc'||g, '单位'||g, '地址 '||g, 'sealed-name-'||g, 'sealed-id-'||g, 'sealed-mobile', 0 FROM generate_series(1,:N) g;
INSERT INTO certificate (id, institution_id, serial, status, issued_at, issued_by, authority_id, expires_at)
  SELECT 'c'||g, 'i'||g, 'SER'||g, 'active', 0, 's0', 'a0', 9e15::bigint FROM generate_series(1,:N) g;
INSERT INTO holder (id, certificate_id, role, name, id_number, mobile, is_legal_rep, status, created_at)
  SELECT 'h'||g, 'c'||g, 'first_manager', '张三'||g, 'sealed-idnumber-0123456789012345678901234567890123456789-'||g, 'sealed-mobile', true, 'active', 0 FROM generate_series(1,:N) g;
INSERT INTO device (id, holder_id, public_key, password_hash, status, created_at)
  SELECT 'd'||g, 'h'||g, 'pk', 'x', 'active', 0 FROM generate_series(1,:N) g;
-- Ten sets per institution, numbers n1 … n(10N); keys as the app writes them (text), values made up.
INSERT INTO presentation (id, certificate_id, holder_id, device_id, qr_hash, number_hash, created_at, expires_at)
  SELECT 'pr'||g, 'c'||(g%:N+1), 'h'||(g%:N+1), 'd'||(g%:N+1), md5('q'||g), md5('n'||g), 0, 9e15::bigint FROM generate_series(1,10*:N) g;
VACUUM ANALYZE;
