-- Issue 17 §2: PostgreSQL sends a unit of independent statements as one statement, through a
-- function of this number (see the PostgreSQL migration). SQLite's units are group-committed by
-- one writer in the process (core/src/store/local.rs), with no round trips to save; the number
-- is kept so that both engines' migrations line up.
SELECT 1;
