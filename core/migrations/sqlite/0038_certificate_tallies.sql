-- Issue 15 §3 (the statistics at national size): the figures of an authority with its whole
-- subtree are kept by the writes themselves, so that the nation's statistics read a few thousand
-- rows instead of counting a million certificates and their holders.
--
-- `authority_line` holds each authority with itself and every authority above it (four levels at
-- most, R22). An authority never moves: its parent is fixed at creation.
CREATE TABLE authority_line (
    authority_id TEXT NOT NULL,
    ancestor_id  TEXT NOT NULL,
    PRIMARY KEY (authority_id, ancestor_id)
);
WITH RECURSIVE up(id, anc) AS (
    SELECT id, id FROM authority
    UNION ALL SELECT up.id, a.parent_id FROM up JOIN authority a ON a.id = up.anc WHERE a.parent_id IS NOT NULL
)
INSERT INTO authority_line (authority_id, ancestor_id) SELECT id, anc FROM up;

CREATE TRIGGER authority_line_insert AFTER INSERT ON authority
BEGIN
    INSERT INTO authority_line (authority_id, ancestor_id) VALUES (NEW.id, NEW.id);
    INSERT INTO authority_line (authority_id, ancestor_id)
        SELECT NEW.id, l.ancestor_id FROM authority_line l WHERE l.authority_id = NEW.parent_id;
END;

CREATE TRIGGER authority_line_fixed BEFORE UPDATE OF id, parent_id ON authority
WHEN OLD.id IS NOT NEW.id OR OLD.parent_id IS NOT NEW.parent_id
BEGIN
    SELECT RAISE(ABORT, 'an authority keeps its place in the tree');
END;

-- Certificates now, per authority with its subtree: how many in each status, and the active
-- managers and users they have (`holder.status = 'active'`, role `manager` or `user`), by the
-- instant an active certificate lapses (R20: live while `expires_at` is in the future; 0 for
-- cancelled and deleted ones, whose expiry no figure asks for).
CREATE TABLE certificate_tally (
    authority_id TEXT NOT NULL,
    status       TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    certificates BIGINT NOT NULL,
    managers     BIGINT NOT NULL,
    users        BIGINT NOT NULL,
    PRIMARY KEY (authority_id, status, expires_at)
);

-- Per authority with its subtree and CST day: certificates issued, first claimed and ended
-- (cancelled or deleted) on that day, as `issued_at`, `claimed_at` and `ended_at` say now.
CREATE TABLE certificate_daily (
    authority_id TEXT NOT NULL,
    day          BIGINT NOT NULL,
    issued       BIGINT NOT NULL,
    claimed      BIGINT NOT NULL,
    ended        BIGINT NOT NULL,
    PRIMARY KEY (authority_id, day)
);

-- What is there already, counted once.
INSERT INTO certificate_tally (authority_id, status, expires_at, certificates, managers, users)
    SELECT l.ancestor_id, c.status, CASE WHEN c.status = 'active' THEN c.expires_at ELSE 0 END,
        COUNT(*), COALESCE(SUM(h.managers), 0), COALESCE(SUM(h.users), 0)
    FROM certificate c JOIN authority_line l ON l.authority_id = c.authority_id
    LEFT JOIN (
        SELECT certificate_id, SUM(CASE WHEN role = 'manager' THEN 1 ELSE 0 END) AS managers,
            SUM(CASE WHEN role = 'user' THEN 1 ELSE 0 END) AS users
        FROM holder WHERE status = 'active' GROUP BY certificate_id
    ) h ON h.certificate_id = c.id
    GROUP BY 1, 2, 3;
INSERT INTO certificate_daily (authority_id, day, issued, claimed, ended)
    SELECT l.ancestor_id, e.day, SUM(e.issued), SUM(e.claimed), SUM(e.ended)
    FROM (
        SELECT authority_id, (issued_at + 28800000) / 86400000 AS day, 1 AS issued, 0 AS claimed, 0 AS ended FROM certificate
        UNION ALL SELECT authority_id, (claimed_at + 28800000) / 86400000, 0, 1, 0 FROM certificate WHERE claimed_at IS NOT NULL
        UNION ALL SELECT authority_id, (ended_at + 28800000) / 86400000, 0, 0, 1 FROM certificate WHERE ended_at IS NOT NULL
    ) e JOIN authority_line l ON l.authority_id = e.authority_id
    GROUP BY 1, 2;

-- What the triggers add, written as an INSERT into a view that keeps nothing: SQLite has no
-- functions, so these stand for PostgreSQL's `ecert_tally` and `ecert_daily`. A certificate's
-- share (`certificates` of -1 or 1, or 0 for a holder's, with its managers and users) goes to its
-- authority and every one above it; a day's count goes to the CST day of `instant`, if any.
CREATE VIEW certificate_tally_change (authority_id, status, expires_at, certificates, managers, users) AS
    SELECT authority_id, status, expires_at, certificates, managers, users FROM certificate_tally WHERE 0;
CREATE TRIGGER certificate_tally_change INSTEAD OF INSERT ON certificate_tally_change
BEGIN
    INSERT INTO certificate_tally (authority_id, status, expires_at, certificates, managers, users)
        SELECT l.ancestor_id, NEW.status, CASE WHEN NEW.status = 'active' THEN NEW.expires_at ELSE 0 END,
            NEW.certificates, NEW.managers, NEW.users
        FROM authority_line l WHERE l.authority_id = NEW.authority_id
        ON CONFLICT (authority_id, status, expires_at) DO UPDATE SET
            certificates = certificate_tally.certificates + excluded.certificates,
            managers = certificate_tally.managers + excluded.managers,
            users = certificate_tally.users + excluded.users;
END;

CREATE VIEW certificate_daily_change (authority_id, instant, issued, claimed, ended) AS
    SELECT authority_id, day, issued, claimed, ended FROM certificate_daily WHERE 0;
CREATE TRIGGER certificate_daily_change INSTEAD OF INSERT ON certificate_daily_change
WHEN NEW.instant IS NOT NULL
BEGIN
    INSERT INTO certificate_daily (authority_id, day, issued, claimed, ended)
        SELECT l.ancestor_id, (NEW.instant + 28800000) / 86400000, NEW.issued, NEW.claimed, NEW.ended
        FROM authority_line l WHERE l.authority_id = NEW.authority_id
        ON CONFLICT (authority_id, day) DO UPDATE SET
            issued = certificate_daily.issued + excluded.issued,
            claimed = certificate_daily.claimed + excluded.claimed,
            ended = certificate_daily.ended + excluded.ended;
END;

-- Kept by every write from now on. A change takes the old row's share away and adds the new
-- row's, in the transaction that writes it.
CREATE TRIGGER certificate_tally_insert AFTER INSERT ON certificate
BEGIN
    INSERT INTO certificate_tally_change VALUES (NEW.authority_id, NEW.status, NEW.expires_at, 1,
        (SELECT COUNT(*) FROM holder h WHERE h.certificate_id = NEW.id AND h.status = 'active' AND h.role = 'manager'),
        (SELECT COUNT(*) FROM holder h WHERE h.certificate_id = NEW.id AND h.status = 'active' AND h.role = 'user'));
    INSERT INTO certificate_daily_change VALUES (NEW.authority_id, NEW.issued_at, 1, 0, 0);
    INSERT INTO certificate_daily_change VALUES (NEW.authority_id, NEW.claimed_at, 0, 1, 0);
    INSERT INTO certificate_daily_change VALUES (NEW.authority_id, NEW.ended_at, 0, 0, 1);
END;

CREATE TRIGGER certificate_tally_update AFTER UPDATE OF status, expires_at, authority_id ON certificate
WHEN OLD.authority_id IS NOT NEW.authority_id OR OLD.status IS NOT NEW.status
    OR (NEW.status = 'active' AND OLD.expires_at IS NOT NEW.expires_at)
BEGIN
    INSERT INTO certificate_tally_change VALUES (OLD.authority_id, OLD.status, OLD.expires_at, -1,
        -(SELECT COUNT(*) FROM holder h WHERE h.certificate_id = OLD.id AND h.status = 'active' AND h.role = 'manager'),
        -(SELECT COUNT(*) FROM holder h WHERE h.certificate_id = OLD.id AND h.status = 'active' AND h.role = 'user'));
    INSERT INTO certificate_tally_change VALUES (NEW.authority_id, NEW.status, NEW.expires_at, 1,
        (SELECT COUNT(*) FROM holder h WHERE h.certificate_id = NEW.id AND h.status = 'active' AND h.role = 'manager'),
        (SELECT COUNT(*) FROM holder h WHERE h.certificate_id = NEW.id AND h.status = 'active' AND h.role = 'user'));
END;

CREATE TRIGGER certificate_daily_update AFTER UPDATE OF issued_at, claimed_at, ended_at, authority_id ON certificate
WHEN OLD.authority_id IS NOT NEW.authority_id OR OLD.issued_at IS NOT NEW.issued_at
    OR OLD.claimed_at IS NOT NEW.claimed_at OR OLD.ended_at IS NOT NEW.ended_at
BEGIN
    INSERT INTO certificate_daily_change VALUES (OLD.authority_id, OLD.issued_at, -1, 0, 0);
    INSERT INTO certificate_daily_change VALUES (OLD.authority_id, OLD.claimed_at, 0, -1, 0);
    INSERT INTO certificate_daily_change VALUES (OLD.authority_id, OLD.ended_at, 0, 0, -1);
    INSERT INTO certificate_daily_change VALUES (NEW.authority_id, NEW.issued_at, 1, 0, 0);
    INSERT INTO certificate_daily_change VALUES (NEW.authority_id, NEW.claimed_at, 0, 1, 0);
    INSERT INTO certificate_daily_change VALUES (NEW.authority_id, NEW.ended_at, 0, 0, 1);
END;

CREATE TRIGGER certificate_tally_delete AFTER DELETE ON certificate
BEGIN
    INSERT INTO certificate_tally_change VALUES (OLD.authority_id, OLD.status, OLD.expires_at, -1,
        -(SELECT COUNT(*) FROM holder h WHERE h.certificate_id = OLD.id AND h.status = 'active' AND h.role = 'manager'),
        -(SELECT COUNT(*) FROM holder h WHERE h.certificate_id = OLD.id AND h.status = 'active' AND h.role = 'user'));
    INSERT INTO certificate_daily_change VALUES (OLD.authority_id, OLD.issued_at, -1, 0, 0);
    INSERT INTO certificate_daily_change VALUES (OLD.authority_id, OLD.claimed_at, 0, -1, 0);
    INSERT INTO certificate_daily_change VALUES (OLD.authority_id, OLD.ended_at, 0, 0, -1);
END;

-- A holder counts for its certificate's row while it is an active manager or user.
CREATE TRIGGER holder_tally_insert AFTER INSERT ON holder
WHEN NEW.status = 'active' AND NEW.role IN ('manager', 'user')
BEGIN
    INSERT INTO certificate_tally_change
        SELECT c.authority_id, c.status, c.expires_at, 0, NEW.role = 'manager', NEW.role = 'user'
        FROM certificate c WHERE c.id = NEW.certificate_id;
END;

CREATE TRIGGER holder_tally_update AFTER UPDATE OF status, role, certificate_id ON holder
WHEN (OLD.status = 'active' AND OLD.role IN ('manager', 'user')) OR (NEW.status = 'active' AND NEW.role IN ('manager', 'user'))
BEGIN
    INSERT INTO certificate_tally_change
        SELECT c.authority_id, c.status, c.expires_at, 0, -(OLD.role = 'manager'), -(OLD.role = 'user')
        FROM certificate c WHERE c.id = OLD.certificate_id AND OLD.status = 'active' AND OLD.role IN ('manager', 'user');
    INSERT INTO certificate_tally_change
        SELECT c.authority_id, c.status, c.expires_at, 0, NEW.role = 'manager', NEW.role = 'user'
        FROM certificate c WHERE c.id = NEW.certificate_id AND NEW.status = 'active' AND NEW.role IN ('manager', 'user');
END;

CREATE TRIGGER holder_tally_delete AFTER DELETE ON holder
WHEN OLD.status = 'active' AND OLD.role IN ('manager', 'user')
BEGIN
    INSERT INTO certificate_tally_change
        SELECT c.authority_id, c.status, c.expires_at, 0, -(OLD.role = 'manager'), -(OLD.role = 'user')
        FROM certificate c WHERE c.id = OLD.certificate_id;
END;
