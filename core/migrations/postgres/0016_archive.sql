-- Issue 15 §3 (seed 002, 档案管理): a package per issue and per change — the form's data, the
-- identity check's result, the staff member, the time and the papers checklist — sealed at rest
-- (R16: it names persons), with the SHA-256 of the content before sealing, kept until
-- `keep_until` (the configured retention, 30 years by default), then purged.
CREATE TABLE archive (
    id             TEXT PRIMARY KEY,
    authority_id   TEXT NOT NULL REFERENCES authority (id),
    certificate_id TEXT NOT NULL REFERENCES certificate (id),
    action         TEXT NOT NULL,
    staff_id       TEXT REFERENCES staff (id),
    content        TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    keep_until     BIGINT NOT NULL
);
CREATE INDEX archive_certificate ON archive (certificate_id, created_at);
CREATE INDEX archive_keep_until ON archive (keep_until);
