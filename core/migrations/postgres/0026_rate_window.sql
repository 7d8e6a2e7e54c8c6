-- Issue 17 §1: the per-client windows of the limits on anonymous requests, counted in the
-- database that every app server of a cluster shares, so that a client over its limit through
-- one app server is over it through all. One row per class, client and minute; the purge
-- deletes a window two minutes after it ends.
CREATE TABLE rate_window (
    class TEXT NOT NULL,
    client TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (class, client, window_start)
);
CREATE INDEX rate_window_start ON rate_window (window_start);
