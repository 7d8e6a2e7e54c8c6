-- Issue 17 §2: the usage records (R12) keep their references without foreign keys on PostgreSQL.
--
-- A usage record is written on every counter check, first public check of a minute, login and
-- signature, in the statement that checks the caller. Each of its four foreign keys ran a
-- trigger that looked the parent up and took a `FOR KEY SHARE` lock on its row: four more
-- lookups, a tuple lock written to the parent's page and to the WAL, and, when concurrent checks
-- at one party's counters lock the same party row, a multixact. Measured with the counter
-- check's statements under `pgbench` (docs/performance.md, *The usage record's foreign keys*):
-- 20% of PostgreSQL's CPU per check.
--
-- What the keys guarded stays true without them: every id a record carries was read in the
-- same request from the row it names (the presented set's certificate and holder, the signed-in
-- counter and its party), and certificates, holders, parties and counters are never deleted
-- (they end by status; purge.rs deletes none of them). The records are an append-only log that
-- must outlive any change to the rows they name. SQLite keeps its keys: there a key is one
-- lookup in the same process, with no lock to write.
ALTER TABLE usage_record
    DROP CONSTRAINT usage_record_certificate_id_fkey,
    DROP CONSTRAINT usage_record_holder_id_fkey,
    DROP CONSTRAINT usage_record_party_id_fkey,
    DROP CONSTRAINT usage_record_counter_id_fkey;
