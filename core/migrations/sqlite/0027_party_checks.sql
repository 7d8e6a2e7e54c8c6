-- Issue 18 §2: a relying party's own system checks presented numbers through the API
-- (`POST /api/v1/verify`) under a window of failed tries of the party's own (R10), shared by
-- every app server: PARTY_NUMBER_FAILURES per NUMBER_WINDOW_MINUTES.
ALTER TABLE relying_party ADD COLUMN window_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE relying_party ADD COLUMN window_failures BIGINT NOT NULL DEFAULT 0;
