-- Issue 15 §2–3: statistics, lists and the console's search per authority and subtree come from
-- aggregates over indexed columns. A certificate carries the authority that issued it and the
-- instants it was first claimed and ended; a usage record carries its certificate's authority,
-- so that counting a period of an authority is one index range each.
ALTER TABLE certificate ADD COLUMN authority_id TEXT REFERENCES authority (id);
ALTER TABLE certificate ADD COLUMN claimed_at BIGINT;
ALTER TABLE certificate ADD COLUMN ended_at BIGINT;
UPDATE certificate SET authority_id = (SELECT i.authority_id FROM institution i WHERE i.id = certificate.institution_id);
UPDATE certificate SET claimed_at = (SELECT MIN(r.at) FROM change_record r WHERE r.certificate_id = certificate.id AND r.kind = 'claimed');
UPDATE certificate SET ended_at = (SELECT MAX(r.at) FROM change_record r WHERE r.certificate_id = certificate.id AND r.kind IN ('cancelled', 'deleted'))
    WHERE status <> 'active';
CREATE INDEX certificate_authority_issued ON certificate (authority_id, issued_at);
CREATE INDEX certificate_authority_claimed ON certificate (authority_id, claimed_at);
CREATE INDEX certificate_authority_ended ON certificate (authority_id, ended_at);
CREATE INDEX certificate_authority_status ON certificate (authority_id, status);
CREATE INDEX certificate_issued ON certificate (issued_at);

ALTER TABLE usage_record ADD COLUMN authority_id TEXT;
UPDATE usage_record SET authority_id = (SELECT c.authority_id FROM certificate c WHERE c.id = usage_record.certificate_id);
CREATE INDEX usage_record_authority_at ON usage_record (authority_id, at);

-- A search for a part of a name, credit code or serial (`LIKE '%…%'`) uses trigram indexes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX institution_name_trgm ON institution USING gin (name gin_trgm_ops);
CREATE INDEX institution_credit_code_trgm ON institution USING gin (credit_code gin_trgm_ops);
CREATE INDEX certificate_serial_trgm ON certificate USING gin (serial gin_trgm_ops);

-- The matters catalogue counts the grants in force that name each matter.
CREATE INDEX grant_matter_matter ON grant_matter (matter_id);
