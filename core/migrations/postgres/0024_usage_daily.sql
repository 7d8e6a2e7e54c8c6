-- Issue 15 §3: usage counted once per closed CST day for each authority *with its whole
-- subtree*, so that the statistics and the usage list's count of a nation or a province read a
-- few hundred rows instead of millions of usage records. A usage record is never changed once
-- written and its day is over once the day has ended, so a day rolled up stays right; the days
-- after `rollup_mark.through_day` are counted from the records themselves
-- (`ecert_core::stats::roll_up_usage`, run by every app server's purge schedule).
CREATE TABLE usage_daily (
    authority_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    kind TEXT NOT NULL,
    at_counter BIGINT NOT NULL,
    -- '' for usage of no relying party (the public check page).
    party_id TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (authority_id, day, kind, at_counter, party_id)
);

-- The last CST day (days since 1970-01-01) whose usage `usage_daily` holds; -1 for none.
CREATE TABLE rollup_mark (
    name TEXT PRIMARY KEY,
    through_day BIGINT NOT NULL
);
INSERT INTO rollup_mark (name, through_day) VALUES ('usage', -1);
