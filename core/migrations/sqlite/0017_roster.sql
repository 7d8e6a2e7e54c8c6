-- Issue 15 §3, 应发尽发 (seed 002): the registration list an authority imports, one row per
-- institution (by credit code), under the authority it is registered with. The legal
-- representative's ID number and mobile are sealed (R16).
CREATE TABLE roster (
    id                  TEXT PRIMARY KEY,
    authority_id        TEXT NOT NULL REFERENCES authority (id),
    credit_code         TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    address             TEXT NOT NULL,
    legal_rep_name      TEXT NOT NULL,
    legal_rep_id_number TEXT NOT NULL,
    legal_rep_mobile    TEXT NOT NULL,
    imported_at         BIGINT NOT NULL
);
CREATE INDEX roster_authority ON roster (authority_id, credit_code);
