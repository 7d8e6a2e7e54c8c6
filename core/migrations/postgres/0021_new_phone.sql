-- Issue 16 journey 1 (R19, new phone): why a device binding stopped, for the wallet to say on a
-- void card — `removed` (R8), `legal_rep_changed` / `first_manager_changed` (R14), `moved` (the
-- holder's certificate was given to another phone) or `dropped` (the holder removed the card
-- from this phone). NULL for a binding that is live, or that stopped before this was kept.
ALTER TABLE device ADD COLUMN void_reason TEXT;
