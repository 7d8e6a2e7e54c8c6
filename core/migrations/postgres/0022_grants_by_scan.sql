-- Issue 16 journey 2 (R17, grants by scan): a grant given to a user who already holds the role
-- is in force only once the user has scanned its grant QR on their own phone (`received_at`);
-- the grants given with the role are received when the user takes the role up. Grants given
-- before this are received already (those of people who have not taken their role up yet will
-- be, then).
ALTER TABLE holder_grant ADD COLUMN received_at BIGINT;
UPDATE holder_grant SET received_at = created_at
 WHERE holder_id IN (SELECT id FROM holder WHERE status <> 'pending');

-- The grant a grant QR's code hands over.
ALTER TABLE one_time_code ADD COLUMN grant_id TEXT;

-- The first manager gives each manager the right to authorize users (使用人授权), or not.
ALTER TABLE holder ADD COLUMN may_authorize BOOLEAN NOT NULL DEFAULT TRUE;
