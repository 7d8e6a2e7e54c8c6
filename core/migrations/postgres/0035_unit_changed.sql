-- Issue 17 §2: a unit of independent statements runs as one statement (core/src/store/compose.rs):
-- `WITH s0 AS (… RETURNING 1), … SELECT ecert_unit_changed(ARRAY[rows of each], ARRAY[must change])`.
-- Answers the rows each statement changed, or raises EC001 naming the first statement that had
-- to change a row and changed none, which undoes the whole statement.
CREATE FUNCTION ecert_unit_changed(changed bigint[], must boolean[]) RETURNS bigint[]
LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. coalesce(array_length(changed, 1), 0) LOOP
    IF must[i] AND changed[i] = 0 THEN
      RAISE EXCEPTION USING ERRCODE = 'EC001', MESSAGE = 'ecert unit stopped at statement ' || (i - 1);
    END IF;
  END LOOP;
  RETURN changed;
END
$$;
