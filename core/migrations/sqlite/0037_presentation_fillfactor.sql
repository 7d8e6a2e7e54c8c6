-- Issue 17 §2: PostgreSQL leaves room on the presented sets' pages for their updates (see the
-- PostgreSQL migration of this number). SQLite has no fill factor: a row updated in place stays
-- where it is. The number is kept so that both engines' migrations line up.
SELECT 1;
