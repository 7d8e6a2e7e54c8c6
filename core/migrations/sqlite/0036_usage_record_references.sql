-- Issue 17 §2: PostgreSQL drops the usage record's foreign keys (see the PostgreSQL migration of
-- this number). SQLite keeps them: a key is one lookup in the same process there, with no row
-- lock to write. The number is kept so that both engines' migrations line up.
SELECT 1;
