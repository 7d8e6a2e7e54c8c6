-- Issue 18 §1, R23: a filing keeps the phone's signature that approved it, beyond the approval
-- request's own life (the purge deletes that hours later): the device, the message it signed
-- (the approval code, spent, and the keyed digest of the action, which names the document's
-- SHA-256) and when. The approval request holds them from the phone's answer until a write
-- takes it.
ALTER TABLE approval_request ADD COLUMN answer_message TEXT;
ALTER TABLE approval_request ADD COLUMN answer_signature TEXT;
ALTER TABLE approval_request ADD COLUMN answered_at BIGINT;
ALTER TABLE filing ADD COLUMN signed_device_id TEXT;
ALTER TABLE filing ADD COLUMN signed_message TEXT;
ALTER TABLE filing ADD COLUMN signature TEXT;
ALTER TABLE filing ADD COLUMN signed_at BIGINT;
