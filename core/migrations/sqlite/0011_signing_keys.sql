-- Issue 14 §5: the platform's ES256 keys, sealed under the data key and rotated. Each purpose
-- (ID tokens, sign attestations) has one current key (`retired_at` NULL; the partial unique index
-- makes concurrent first uses create one) and the keys it replaced, still published in the JWKS
-- while what they signed can be verified. The earlier table's keys move here as they were, in
-- the clear; the server seals them when it starts (`ecert_core::seal::settle_key`).
CREATE TABLE signing_key (
    id           TEXT PRIMARY KEY,
    purpose      TEXT NOT NULL,
    private_key  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    retired_at   BIGINT
);
CREATE UNIQUE INDEX signing_key_current ON signing_key (purpose) WHERE retired_at IS NULL;
INSERT INTO signing_key (id, purpose, private_key, created_at)
    SELECT id, slot, private_key, created_at FROM platform_key;
DROP TABLE platform_key;
