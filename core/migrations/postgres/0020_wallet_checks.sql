-- Issue 16 §8: a bound wallet checks presented numbers (scanned from a barcode) under the same
-- window of failed tries as a counter (R10): NUMBER_FAILURES per NUMBER_WINDOW_MINUTES.
ALTER TABLE device ADD COLUMN window_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE device ADD COLUMN window_failures BIGINT NOT NULL DEFAULT 0;
