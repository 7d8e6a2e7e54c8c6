-- Issue 14 §5: the identity service must not become an oracle for ID numbers. Each caller (a
-- staff member or a holder) may have a few name / ID number pairs refused by it a day; a question
-- takes one of those before it is asked and gives it back when the answer is a match.
CREATE TABLE identity_budget (
    asker         TEXT PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    misses        BIGINT NOT NULL
);

-- Every refused pair, kept like a change record: who asked, for which field, when (never the
-- name or the ID number).
CREATE TABLE identity_mismatch (
    id          TEXT PRIMARY KEY,
    asker       TEXT NOT NULL,
    field       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX identity_mismatch_asker ON identity_mismatch (asker, created_at);
