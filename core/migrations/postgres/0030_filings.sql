-- Issue 18 §1, R23: the registration business (登记业务) done with the certificate. A manager
-- fills a change registration, an annual report, a cancellation or a reissue of the legal-person
-- certificate, approves it on the phone (the device signs the document's digest), and the
-- authority's staff approve it or return it with their reasons. A returned filing stays as it
-- was signed; the holder files a corrected one.
CREATE TABLE filing (
    id               TEXT PRIMARY KEY,
    certificate_id   TEXT NOT NULL REFERENCES certificate (id),
    authority_id     TEXT NOT NULL REFERENCES authority (id),
    kind             TEXT NOT NULL CHECK (kind IN ('change', 'annual_report', 'cancellation', 'reissue')),
    -- The year an annual report is for; NULL for every other kind.
    report_year      BIGINT,
    -- The institution as it stood when the filing was signed (the public list names it so).
    institution_name TEXT NOT NULL,
    credit_code      TEXT NOT NULL,
    -- The signed document (JSON), sealed: a change names the new legal representative.
    document         TEXT NOT NULL,
    -- SHA-256 of the document, base64url: what the phone approved.
    digest           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('submitted', 'approved', 'returned')),
    submitted_by     TEXT NOT NULL REFERENCES holder (id),
    -- The phone approval the dashboard session brought; NULL when filed from the phone itself.
    approval_id      TEXT,
    submitted_at     BIGINT NOT NULL,
    reviewed_by      TEXT REFERENCES staff (id),
    reviewed_at      BIGINT,
    review_note      TEXT
);
CREATE INDEX filing_review ON filing (authority_id, status, submitted_at);
CREATE INDEX filing_certificate ON filing (certificate_id, submitted_at);
CREATE INDEX filing_published ON filing (kind, status, reviewed_at);
-- One filing of a kind waits for review at a time, and a year has one annual report that is not
-- returned: two submitted at once, one fails.
CREATE UNIQUE INDEX filing_one_open ON filing (certificate_id, kind) WHERE status = 'submitted';
CREATE UNIQUE INDEX filing_one_report ON filing (certificate_id, report_year)
    WHERE kind = 'annual_report' AND status <> 'returned';
