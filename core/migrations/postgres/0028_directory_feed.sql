-- Issue 18 §3: the directory change feed for provincial platforms. Every issuance, change of the
-- registration data, renewal, cancellation and deletion appends an event with the certificate's
-- state after it (the legal representative's name masked, R16), in the transaction that makes
-- it. `seq` is the cursor: it only grows, and events commit in its order (one writer on SQLite;
-- `LOCK TABLE` on PostgreSQL), so a reader that saw `seq` N has seen every event up to N.
CREATE TABLE directory_event (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           TEXT NOT NULL,
    certificate_id TEXT NOT NULL REFERENCES certificate (id),
    authority_id   TEXT NOT NULL REFERENCES authority (id),
    credit_code    TEXT NOT NULL,
    name           TEXT NOT NULL,
    address        TEXT NOT NULL,
    legal_rep_name TEXT NOT NULL,
    authority_name TEXT NOT NULL,
    serial         TEXT NOT NULL,
    status         TEXT NOT NULL,
    issued_at      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    at             BIGINT NOT NULL
);
CREATE INDEX directory_event_authority ON directory_event (authority_id, seq);

-- The certificates issued before the feed began, as they stand now: one `snapshot` event each.
INSERT INTO directory_event (kind, certificate_id, authority_id, credit_code, name, address, legal_rep_name, authority_name, serial, status, issued_at, expires_at, at)
SELECT 'snapshot', c.id, i.authority_id, i.credit_code, i.name, i.address,
       left(i.legal_rep_name, 1) || repeat('*', char_length(i.legal_rep_name) - 1),
       a.name, c.serial, c.status, c.issued_at, c.expires_at, c.issued_at
FROM certificate c JOIN institution i ON i.id = c.institution_id JOIN authority a ON a.id = i.authority_id
ORDER BY c.issued_at, c.id;

-- A relying party that takes the feed (`id` is the party's): by pull, and by webhook when it has
-- a URL. The webhook's signing secret is sealed under the data key; `delivered_seq` is how far
-- the webhook got, and one app server at a time delivers (`lease_until`).
CREATE TABLE directory_subscriber (
    id              TEXT PRIMARY KEY REFERENCES relying_party (id),
    webhook_url     TEXT,
    webhook_secret  TEXT,
    delivered_seq   BIGINT NOT NULL DEFAULT 0,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    delivered_at    BIGINT,
    created_at      BIGINT NOT NULL
);
