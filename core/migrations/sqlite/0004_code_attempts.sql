-- Wrong name / ID number entries against a claim or face-to-face code: after 5 the code is void
-- (staff or the manager make a new one), so a code cannot be used to guess an identity.
ALTER TABLE one_time_code ADD COLUMN failed_attempts BIGINT NOT NULL DEFAULT 0;
