-- Registration authorities and their staff. Timestamps are epoch milliseconds (BIGINT).
CREATE TABLE authority (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('national', 'provincial', 'municipal', 'county')),
    parent_id   TEXT REFERENCES authority (id),
    region_code TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE staff (
    id              TEXT PRIMARY KEY,
    authority_id    TEXT NOT NULL REFERENCES authority (id),
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    is_admin        BOOLEAN NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX staff_authority ON staff (authority_id);

-- Staff browser sessions; only the SHA-256 of the session token is kept.
CREATE TABLE staff_session (
    token_hash TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX staff_session_staff ON staff_session (staff_id);
