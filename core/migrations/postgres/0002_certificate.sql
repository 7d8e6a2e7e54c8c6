-- Institutions, their certificates, the people who hold roles in them, one-time codes and
-- change records. Timestamps are epoch milliseconds.
CREATE TABLE institution (
    id                  TEXT PRIMARY KEY,
    authority_id        TEXT NOT NULL REFERENCES authority (id),
    credit_code         TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    address             TEXT NOT NULL,
    legal_rep_name      TEXT NOT NULL,
    legal_rep_id_number TEXT NOT NULL,
    legal_rep_mobile    TEXT NOT NULL,
    created_at          BIGINT NOT NULL
);
CREATE INDEX institution_authority ON institution (authority_id, created_at);

CREATE TABLE certificate (
    id             TEXT PRIMARY KEY,
    institution_id TEXT NOT NULL REFERENCES institution (id),
    serial         TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL CHECK (status IN ('active', 'cancelled', 'deleted')),
    issued_at      BIGINT NOT NULL,
    issued_by      TEXT NOT NULL REFERENCES staff (id)
);
-- One live certificate per institution.
CREATE UNIQUE INDEX certificate_one_active ON certificate (institution_id) WHERE status = 'active';

-- A person's role in a certificate (R1, R3, R4). `pending` until the person claims or accepts
-- on their own device; `removed` is kept for the records.
CREATE TABLE holder (
    id             TEXT PRIMARY KEY,
    certificate_id TEXT NOT NULL REFERENCES certificate (id),
    role           TEXT NOT NULL CHECK (role IN ('first_manager', 'manager', 'user')),
    name           TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    mobile         TEXT NOT NULL,
    is_legal_rep   BOOLEAN NOT NULL,
    granted_by     TEXT REFERENCES holder (id),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'active', 'removed')),
    created_at     BIGINT NOT NULL
);
CREATE INDEX holder_certificate ON holder (certificate_id, role, status);
-- R1: exactly one (live) first manager per certificate.
CREATE UNIQUE INDEX holder_one_first_manager ON holder (certificate_id) WHERE role = 'first_manager' AND status <> 'removed';

-- Single-use, short-lived codes behind every QR; only the SHA-256 of the code is kept.
CREATE TABLE one_time_code (
    code_hash      TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    certificate_id TEXT NOT NULL REFERENCES certificate (id),
    holder_id      TEXT REFERENCES holder (id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    voided_at      BIGINT
);
CREATE INDEX one_time_code_holder ON one_time_code (holder_id, kind);

-- R12: append-only.
CREATE TABLE change_record (
    id             TEXT PRIMARY KEY,
    certificate_id TEXT NOT NULL REFERENCES certificate (id),
    kind           TEXT NOT NULL,
    actor_kind     TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    subject_id     TEXT,
    at             BIGINT NOT NULL
);
CREATE INDEX change_record_certificate ON change_record (certificate_id, at);
