-- Relying parties and their counters, presentations (R9, R10), and fresher device signatures.
-- Timestamps are epoch milliseconds.

-- An application system or a counter operator (政务大厅、银行) registered by an authority's
-- staff. `id` is also its OpenID Connect client id; only the SHA-256 of its 256-bit secret is
-- kept. `redirect_uris` holds one absolute URL per line (empty for counter-only parties).
CREATE TABLE relying_party (
    id                 TEXT PRIMARY KEY,
    authority_id       TEXT NOT NULL REFERENCES authority (id),
    name               TEXT NOT NULL,
    client_secret_hash TEXT NOT NULL,
    redirect_uris      TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    created_by         TEXT NOT NULL REFERENCES staff (id),
    created_at         BIGINT NOT NULL,
    UNIQUE (authority_id, name)
);

-- A counter (one window, one account) of a relying party: it signs in to the verifier page.
-- R10: numeric codes it checks are rate-limited by a window of failed checks.
CREATE TABLE counter (
    id              TEXT PRIMARY KEY,
    party_id        TEXT NOT NULL REFERENCES relying_party (id),
    name            TEXT NOT NULL,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    window_start    BIGINT NOT NULL DEFAULT 0,
    window_failures BIGINT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at      BIGINT NOT NULL
);
CREATE INDEX counter_party ON counter (party_id);

CREATE TABLE counter_session (
    token_hash TEXT PRIMARY KEY,
    counter_id TEXT NOT NULL REFERENCES counter (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at   BIGINT
);

-- R9: a presented set. The QR carries a 256-bit token (public page, R10); the barcode and the
-- numeric code carry the same 12-digit number, checked only by counters. Both are stored as
-- SHA-256. A number is unique among live sets (checked on insert), not across history.
CREATE TABLE presentation (
    id             TEXT PRIMARY KEY,
    certificate_id TEXT NOT NULL REFERENCES certificate (id),
    holder_id      TEXT NOT NULL REFERENCES holder (id),
    device_id      TEXT NOT NULL REFERENCES device (id),
    grant_id       TEXT REFERENCES holder_grant (id),
    qr_hash        TEXT NOT NULL UNIQUE,
    number_hash    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    voided_at      BIGINT
);
CREATE INDEX presentation_number ON presentation (number_hash, expires_at);
CREATE INDEX presentation_holder ON presentation (holder_id, expires_at);

-- Signatures over a device id carry the time they were made; a device's times only go up, so
-- a captured request cannot be sent again.
ALTER TABLE device ADD COLUMN last_signed_at BIGINT NOT NULL DEFAULT 0;

-- R12: which relying party and counter a usage record was for.
ALTER TABLE usage_record ADD COLUMN party_id TEXT REFERENCES relying_party (id);
ALTER TABLE usage_record ADD COLUMN counter_id TEXT REFERENCES counter (id);
CREATE INDEX usage_record_holder ON usage_record (holder_id, at);
