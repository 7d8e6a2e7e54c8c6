-- Issue 14 §1: what the phone shows of a scan login besides who asks. The three match codes the
-- phone offers (the PC's among them, in the order shown), and the browser that asked: its
-- address and its user agent (bounded), so that the holder can tell a stranger's computer.
ALTER TABLE login_request ADD COLUMN match_choices TEXT;
ALTER TABLE login_request ADD COLUMN requester_ip TEXT;
ALTER TABLE login_request ADD COLUMN requester_agent TEXT;

-- Issue 14 §1: a dashboard write that gives, shows or takes a power waits for the holder's phone.
-- Bound to the dashboard session that asked; the action itself is kept only as its digest and a
-- masked summary for the phone to show. Taken once by the write it approves.
CREATE TABLE approval_request (
    id            TEXT PRIMARY KEY,
    code_hash     TEXT NOT NULL UNIQUE,
    session_hash  TEXT NOT NULL,
    holder_id     TEXT NOT NULL REFERENCES holder (id),
    device_id     TEXT REFERENCES device (id),
    digest        TEXT NOT NULL,
    summary_zh    TEXT NOT NULL,
    summary_en    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('waiting', 'scanned', 'approved', 'rejected', 'taken')),
    requester_ip  TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX approval_request_expiry ON approval_request (expires_at);

-- Issue 14 §1: the wallet lists its holder's sessions with the browser that opened them.
ALTER TABLE holder_session ADD COLUMN requester_ip TEXT;
ALTER TABLE holder_session ADD COLUMN requester_agent TEXT;
CREATE INDEX holder_session_holder ON holder_session (holder_id, expires_at);
CREATE INDEX oidc_token_holder ON oidc_token (holder_id, expires_at);

-- Issue 14 §3: what the purge deletes by expiry is found by an index.
CREATE INDEX login_request_expiry ON login_request (expires_at);
-- What still names a row the purge would delete (and the phone's party domain) is found fast.
CREATE INDEX oidc_request_login ON oidc_request (login_id);
CREATE INDEX oidc_code_request ON oidc_code (request_id);
CREATE INDEX oidc_request_expiry ON oidc_request (expires_at);
CREATE INDEX oidc_code_expiry ON oidc_code (expires_at);
CREATE INDEX oidc_token_expiry ON oidc_token (expires_at);
CREATE INDEX sign_request_expiry ON sign_request (expires_at);
CREATE INDEX presentation_expiry ON presentation (expires_at);
CREATE INDEX sms_code_expiry ON sms_code (expires_at);
CREATE INDEX holder_session_expiry ON holder_session (expires_at);
CREATE INDEX staff_session_expiry ON staff_session (expires_at);
CREATE INDEX counter_session_expiry ON counter_session (expires_at);

-- Issue 14 §3: a presented set's public checks are recorded at most once a minute.
ALTER TABLE presentation ADD COLUMN public_checked_at BIGINT;
