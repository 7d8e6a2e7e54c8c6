-- Issue 4, journey 5: scan to sign. Timestamps are epoch milliseconds.

-- A relying party's sign request: the SHA-256 digest of a document (base64url, 32 bytes) and
-- what the holder is shown. The QR carries a 256-bit one-time code, kept as SHA-256. States:
-- waiting → scanned (by `device_id`) → signed | rejected; expired after `expires_at` unless
-- signed. Once signed it keeps the device's signature over the canonical payload, the device's
-- public key at that moment, the signer's identity (masked, JSON) and the platform's attestation.
CREATE TABLE sign_request (
    id            TEXT PRIMARY KEY,
    party_id      TEXT NOT NULL REFERENCES relying_party (id),
    code_hash     TEXT NOT NULL UNIQUE,
    digest        TEXT NOT NULL,
    description   TEXT NOT NULL,
    document_name TEXT,
    status        TEXT NOT NULL CHECK (status IN ('waiting', 'scanned', 'signed', 'rejected')),
    holder_id     TEXT REFERENCES holder (id),
    device_id     TEXT REFERENCES device (id),
    signed_at     BIGINT,
    signature     TEXT,
    public_key    TEXT,
    signer        TEXT,
    attestation   TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX sign_request_party ON sign_request (party_id, created_at);
