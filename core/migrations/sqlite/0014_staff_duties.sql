-- Issue 15 §1, R22: staff of an authority hold duties: administrator (staff, matters catalogue,
-- relying parties; `is_admin`), operator (issue and change certificates) and auditor (read the
-- lists, statistics and records, and nothing else). Staff before this could all issue: they
-- keep that. A disabled member signs in no more and their sessions end.
ALTER TABLE staff ADD COLUMN is_operator BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE staff ADD COLUMN is_auditor BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE staff ADD COLUMN disabled_at BIGINT;

-- Every staff action, for the auditor: who (NULL: the command line), when, what, on what.
CREATE TABLE staff_action (
    id           TEXT PRIMARY KEY,
    authority_id TEXT NOT NULL REFERENCES authority (id),
    staff_id     TEXT REFERENCES staff (id),
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    detail       TEXT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX staff_action_authority_at ON staff_action (authority_id, at);

-- The authority tree is walked by parent.
CREATE INDEX authority_parent ON authority (parent_id);
