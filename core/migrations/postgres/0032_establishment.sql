-- Issue 18 §1: establishment registration (设立登记). A founding organiser opens an account with a
-- mobile number and an SMS code, fills the establishment application, attaches its papers and
-- submits it; the chosen authority's staff approve it (the institution is registered with its
-- unified social credit code and its certificate issued, the claim slip shown to the applicant)
-- or return it with reasons, and the applicant corrects and submits it again.

-- The applicant's account, known by a keyed digest of the mobile (the vault's MAC); the mobile
-- itself sealed. An account with no application is deleted some time after its last sign-in.
CREATE TABLE applicant (
    id           TEXT PRIMARY KEY,
    mobile_key   TEXT NOT NULL UNIQUE,
    mobile       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX applicant_seen ON applicant (last_seen_at);

-- A sign-in code sent by SMS, hashed with the mobile's key; a few tries, minutes of life.
CREATE TABLE applicant_code (
    id         TEXT PRIMARY KEY,
    mobile_key TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX applicant_code_mobile ON applicant_code (mobile_key, created_at);
CREATE INDEX applicant_code_expiry ON applicant_code (expires_at);

CREATE TABLE applicant_session (
    token_hash   TEXT PRIMARY KEY,
    applicant_id TEXT NOT NULL REFERENCES applicant (id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX applicant_session_expiry ON applicant_session (expires_at);
CREATE INDEX applicant_session_applicant ON applicant_session (applicant_id);

-- An application. `form` is the application as last submitted (JSON, sealed: it names the legal
-- representative); a returned one is corrected in place, every submission and review being a
-- staff-log action with the digest of what was submitted.
CREATE TABLE establishment (
    id             TEXT PRIMARY KEY,
    applicant_id   TEXT NOT NULL REFERENCES applicant (id),
    authority_id   TEXT NOT NULL REFERENCES authority (id),
    name           TEXT NOT NULL,
    form           TEXT NOT NULL,
    digest         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('submitted', 'approved', 'returned')),
    submitted_at   BIGINT NOT NULL,
    reviewed_by    TEXT REFERENCES staff (id),
    reviewed_at    BIGINT,
    review_note    TEXT,
    credit_code    TEXT,
    certificate_id TEXT REFERENCES certificate (id),
    -- The pending first manager the approval made: the applicant's claim slips are for them only.
    holder_id      TEXT REFERENCES holder (id)
);
CREATE INDEX establishment_review ON establishment (authority_id, status, submitted_at);
CREATE INDEX establishment_applicant ON establishment (applicant_id, submitted_at);
-- An applicant has one application under review at a time.
CREATE UNIQUE INDEX establishment_one_open ON establishment (applicant_id) WHERE status = 'submitted';

-- An attached paper: uploaded first (no application yet), bound to the application when it is
-- submitted. Content sealed (base64 of the bytes); an upload never submitted is deleted after a day.
CREATE TABLE establishment_file (
    id               TEXT PRIMARY KEY,
    applicant_id     TEXT NOT NULL REFERENCES applicant (id),
    establishment_id TEXT REFERENCES establishment (id),
    name             TEXT NOT NULL,
    media_type       TEXT NOT NULL,
    size             BIGINT NOT NULL,
    sha256           TEXT NOT NULL,
    content          TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX establishment_file_applicant ON establishment_file (applicant_id, created_at);
CREATE INDEX establishment_file_establishment ON establishment_file (establishment_id);
