-- Issue 4: scan login for application systems over OpenID Connect. Timestamps are epoch ms.

-- R11: a scan login asked for by a relying party (NULL: the manager dashboard). Only the
-- dashboard's logins open dashboard sessions; only a party's logins become its codes.
ALTER TABLE login_request ADD COLUMN party_id TEXT REFERENCES relying_party (id);

-- The platform's ES256 keys, one per purpose (`slot`: ID tokens, sign attestations), shared by
-- every app server. `slot` is unique so that concurrent first uses make one key: the losers
-- insert nothing and read the winner's.
CREATE TABLE platform_key (
    id          TEXT PRIMARY KEY,
    slot        TEXT NOT NULL UNIQUE,
    private_key TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- A validated authorization request. The browser carries `handle` (256 bits, stored as SHA-256)
-- to the scan-login page; `login_id` is the login QR shown for it (a fresh one after expiry).
CREATE TABLE oidc_request (
    id             TEXT PRIMARY KEY,
    handle_hash    TEXT NOT NULL UNIQUE,
    party_id       TEXT NOT NULL REFERENCES relying_party (id),
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    state          TEXT,
    nonce          TEXT,
    code_challenge TEXT NOT NULL,
    login_id       TEXT REFERENCES login_request (id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    done_at        BIGINT
);

-- An authorization code (256 bits, stored as SHA-256), single-use, bound to its client,
-- redirect URI, PKCE challenge, nonce, holder and device.
CREATE TABLE oidc_code (
    code_hash      TEXT PRIMARY KEY,
    request_id     TEXT NOT NULL REFERENCES oidc_request (id),
    party_id       TEXT NOT NULL REFERENCES relying_party (id),
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT,
    holder_id      TEXT NOT NULL REFERENCES holder (id),
    device_id      TEXT NOT NULL REFERENCES device (id),
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);

-- An opaque access token for the userinfo endpoint (stored as SHA-256); revoked when the code
-- that issued it is replayed (RFC 6749 §4.1.2).
CREATE TABLE oidc_token (
    token_hash TEXT PRIMARY KEY,
    code_hash  TEXT NOT NULL REFERENCES oidc_code (code_hash),
    party_id   TEXT NOT NULL REFERENCES relying_party (id),
    holder_id  TEXT NOT NULL REFERENCES holder (id),
    device_id  TEXT NOT NULL REFERENCES device (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oidc_token_code ON oidc_token (code_hash);
