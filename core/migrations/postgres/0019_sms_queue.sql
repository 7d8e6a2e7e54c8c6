-- Issue 16 §6: every SMS is queued here in the transaction that makes its content, delivered
-- after the commit by the configured gateway (an operator's HTTP gateway, or the development
-- outbox) and retried with backoff until it is taken, MAX_ATTEMPTS are spent or its content
-- expires. `mobile` and `params` (a live code among them) are sealed (R16); `params` is emptied
-- when the message ends; staff see the rest.
CREATE TABLE sms_message (
    id              TEXT PRIMARY KEY,
    authority_id    TEXT NOT NULL REFERENCES authority (id),
    kind            TEXT NOT NULL,
    -- The sms_code the message carries: a replaced or used code is not sent any more.
    code_id         TEXT,
    mobile          TEXT NOT NULL,
    params          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX sms_message_due ON sms_message (next_attempt_at) WHERE status = 'queued';
CREATE INDEX sms_message_authority ON sms_message (authority_id, created_at);
