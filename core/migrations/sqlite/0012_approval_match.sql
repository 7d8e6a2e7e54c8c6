-- Issue 14 §1: an approval, like a scan login, shows a match code on the dashboard; the phone
-- offers it among decoys (space-separated, in the order shown) and a wrong pick ends the request.
-- Requests asked before this have none (NULL) and are answered without one.
ALTER TABLE approval_request ADD COLUMN match_code TEXT;
ALTER TABLE approval_request ADD COLUMN match_choices TEXT;
