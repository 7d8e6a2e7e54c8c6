-- Issue 15 §2: a part of a credit code or serial is found through six-character grams. A trigram
-- index finds a part of a name well, but codes and serials are mostly digits: a part such as
-- `0000500000` has four trigrams that thousands of identifiers share, and each of those rows was
-- read again to check the pattern (111 ms at 1,000,000 certificates). Six characters in a row
-- are shared by few, so the index itself narrows a part of six or more to a handful of rows. The
-- trigram indexes stay for shorter parts and for names. `fastupdate` is off: a GIN index would
-- otherwise keep new entries in a pending list that every search reads through until a vacuum
-- merges it (up to 4 MB: tens of milliseconds a search); certificates are issued a few at a
-- time, so each insert merging its own grams costs little.
CREATE FUNCTION ecert_grams(t TEXT) RETURNS TEXT[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(SELECT DISTINCT substr(t, i, 6) FROM generate_series(1, length(t) - 5) AS i);
CREATE INDEX institution_credit_code_grams ON institution USING gin (ecert_grams(credit_code)) WITH (fastupdate = off);
CREATE INDEX certificate_serial_grams ON certificate USING gin (ecert_grams(serial)) WITH (fastupdate = off);
