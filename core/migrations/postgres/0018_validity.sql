-- R20 (issue 16 §5): a certificate is valid until `expires_at` (epoch ms, 00:00 China Standard
-- Time of the first day without validity); past it, it fails every verification and login
-- until staff renew it. A row written without it lapses at once (0), never lives for ever.
ALTER TABLE certificate ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
-- Certificates issued before validity existed get five years (1,826 days) from their issue day.
UPDATE certificate SET expires_at = ((issued_at + 28800000) / 86400000 + 1826) * 86400000 - 28800000;
-- The console's "expiring" and "expired" lists, per authority.
CREATE INDEX certificate_expiry ON certificate (authority_id, expires_at) WHERE status = 'active';
