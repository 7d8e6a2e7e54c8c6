-- Device bindings, holder sessions, scan login, the matters catalogue, grants, SMS codes and
-- usage records (journeys 2-7 of the delegation issue). Timestamps are epoch milliseconds;
-- grant periods are China Standard Time calendar dates written `YYYY-MM-DD`.

-- A holder's device binding: the public key of a key pair whose private half never leaves the
-- device, and the certificate password that protects its use (R13). One live binding per holder.
CREATE TABLE device (
    id               TEXT PRIMARY KEY,
    holder_id        TEXT NOT NULL REFERENCES holder (id),
    public_key       TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    failed_passwords BIGINT NOT NULL DEFAULT 0,
    status           TEXT NOT NULL CHECK (status IN ('active', 'voided')),
    created_at       BIGINT NOT NULL,
    voided_at        BIGINT
);
CREATE UNIQUE INDEX device_one_active ON device (holder_id) WHERE status = 'active';

-- A manager-dashboard session, opened by scan login. Valid only while its holder, device and
-- certificate are (R8, R15): every request re-checks them.
CREATE TABLE holder_session (
    token_hash TEXT PRIMARY KEY,
    holder_id  TEXT NOT NULL REFERENCES holder (id),
    device_id  TEXT NOT NULL REFERENCES device (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at   BIGINT
);

-- R11: a scan-login request. The QR carries `code`; the PC browser that asked holds `browser`
-- in a cookie and polls with it. Only hashes are stored.
CREATE TABLE login_request (
    id           TEXT PRIMARY KEY,
    code_hash    TEXT NOT NULL UNIQUE,
    browser_hash TEXT NOT NULL UNIQUE,
    system       TEXT NOT NULL,
    match_code   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('waiting', 'scanned', 'confirmed', 'rejected', 'consumed')),
    holder_id    TEXT REFERENCES holder (id),
    device_id    TEXT REFERENCES device (id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- The matters (授权事项) an authority lets managers grant.
CREATE TABLE matter (
    id           TEXT PRIMARY KEY,
    authority_id TEXT NOT NULL REFERENCES authority (id),
    name_zh      TEXT NOT NULL,
    name_en      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'retired')),
    created_at   BIGINT NOT NULL,
    UNIQUE (authority_id, name_zh)
);
INSERT INTO matter (id, authority_id, name_zh, name_en, status, created_at)
SELECT a.id || '-' || s.slug, a.id, s.name_zh, s.name_en, 'active', 0
FROM authority a CROSS JOIN (
    SELECT 'bank' AS slug, '银行开户' AS name_zh, 'Bank account opening' AS name_en
    UNION ALL SELECT 'gov', '政务服务', 'Government services'
    UNION ALL SELECT 'social', '社保医保', 'Social and medical insurance'
    UNION ALL SELECT 'tax', '税务', 'Taxation'
    UNION ALL SELECT 'bid', '招投标', 'Tendering and bidding'
    UNION ALL SELECT 'estate', '不动产登记', 'Real estate registration'
) s;

-- R6: a user's grant of matters for a period.
CREATE TABLE holder_grant (
    id             TEXT PRIMARY KEY,
    holder_id      TEXT NOT NULL REFERENCES holder (id),
    start_day      TEXT NOT NULL,
    end_day        TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    granted_by     TEXT NOT NULL REFERENCES holder (id),
    created_at     BIGINT NOT NULL,
    cancelled_at   BIGINT
);
CREATE INDEX holder_grant_holder ON holder_grant (holder_id, status);

CREATE TABLE grant_matter (
    grant_id  TEXT NOT NULL REFERENCES holder_grant (id),
    matter_id TEXT NOT NULL REFERENCES matter (id),
    PRIMARY KEY (grant_id, matter_id)
);

-- R13: SMS codes (6 digits, hashed with the holder's id) and the development gateway's outbox.
CREATE TABLE sms_code (
    id         TEXT PRIMARY KEY,
    holder_id  TEXT NOT NULL REFERENCES holder (id),
    code_hash  TEXT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX sms_code_holder ON sms_code (holder_id, created_at);

CREATE TABLE sms_outbox (
    id           TEXT PRIMARY KEY,
    authority_id TEXT NOT NULL REFERENCES authority (id),
    mobile       TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX sms_outbox_authority ON sms_outbox (authority_id, created_at);

-- R12: usage records, append-only.
CREATE TABLE usage_record (
    id             TEXT PRIMARY KEY,
    certificate_id TEXT NOT NULL REFERENCES certificate (id),
    holder_id      TEXT REFERENCES holder (id),
    kind           TEXT NOT NULL,
    system         TEXT NOT NULL,
    result         TEXT NOT NULL,
    at             BIGINT NOT NULL
);
CREATE INDEX usage_record_certificate ON usage_record (certificate_id, at);
