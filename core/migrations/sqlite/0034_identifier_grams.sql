-- Issue 15 §2: PostgreSQL indexes credit codes and serials by six-character grams for the
-- console's search (see the PostgreSQL migration of the same number). SQLite, the embedded
-- engine of one authority's data, looks for a part of them with LIKE over the table; nothing
-- to change here, the number is kept so that both engines' migrations line up.
SELECT 1;
