-- R19 (review of issue 16): taking a role up on a new phone with a re-download code also needs
-- an SMS code sent to the holder's registered mobile, so that whoever holds the code and knows
-- the holder's name and ID number (the manager who added them, staff, someone who saw the QR)
-- cannot move the role to a phone of their own. A code is for one purpose only.
ALTER TABLE sms_code ADD COLUMN purpose TEXT NOT NULL DEFAULT 'password_reset';
