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

CREATE FUNCTION ecert_authority_line() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.id IS DISTINCT FROM NEW.id OR OLD.parent_id IS DISTINCT FROM NEW.parent_id THEN
            RAISE EXCEPTION 'an authority keeps its place in the tree';
        END IF;
        RETURN NEW;
    END IF;
    INSERT INTO authority_line (authority_id, ancestor_id) VALUES (NEW.id, NEW.id);
    INSERT INTO authority_line (authority_id, ancestor_id)
        SELECT NEW.id, l.ancestor_id FROM authority_line l WHERE l.authority_id = NEW.parent_id;
    RETURN NULL;
END $$;
CREATE TRIGGER authority_line_insert AFTER INSERT ON authority
    FOR EACH ROW EXECUTE FUNCTION ecert_authority_line();
CREATE TRIGGER authority_line_fixed BEFORE UPDATE OF id, parent_id ON authority
    FOR EACH ROW EXECUTE FUNCTION ecert_authority_line();

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
        SELECT certificate_id, COUNT(*) FILTER (WHERE role = 'manager') AS managers,
            COUNT(*) FILTER (WHERE role = 'user') AS users
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

-- Adds a certificate's share (`n` of -1 or 1, with its managers and users) to its authority and
-- every one above, in the order of their ids so that concurrent writes lock rows alike.
CREATE FUNCTION ecert_tally(authority TEXT, status TEXT, expires BIGINT, n BIGINT, managers BIGINT, users BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO certificate_tally AS t (authority_id, status, expires_at, certificates, managers, users)
        SELECT l.ancestor_id, status, CASE WHEN status = 'active' THEN expires ELSE 0 END, n, managers, users
        FROM authority_line l WHERE l.authority_id = authority ORDER BY l.ancestor_id
        ON CONFLICT (authority_id, status, expires_at) DO UPDATE SET
            certificates = t.certificates + EXCLUDED.certificates,
            managers = t.managers + EXCLUDED.managers,
            users = t.users + EXCLUDED.users;
$$;

-- Adds `n` to the issued, claimed or ended count (`what`) of the CST day of `instant`, if any.
CREATE FUNCTION ecert_daily(authority TEXT, instant BIGINT, what TEXT, n BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO certificate_daily AS d (authority_id, day, issued, claimed, ended)
        SELECT l.ancestor_id, (instant + 28800000) / 86400000,
            CASE WHEN what = 'issued' THEN n ELSE 0 END, CASE WHEN what = 'claimed' THEN n ELSE 0 END,
            CASE WHEN what = 'ended' THEN n ELSE 0 END
        FROM authority_line l WHERE l.authority_id = authority AND instant IS NOT NULL ORDER BY l.ancestor_id
        ON CONFLICT (authority_id, day) DO UPDATE SET
            issued = d.issued + EXCLUDED.issued, claimed = d.claimed + EXCLUDED.claimed, ended = d.ended + EXCLUDED.ended;
$$;

-- Kept by every write from now on. A change takes the old row's share away and adds the new
-- row's, in the transaction that writes it.
CREATE FUNCTION ecert_certificate_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    m BIGINT;
    u BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT COUNT(*) FILTER (WHERE role = 'manager'), COUNT(*) FILTER (WHERE role = 'user') INTO m, u
            FROM holder WHERE certificate_id = NEW.id AND status = 'active';
        PERFORM ecert_tally(NEW.authority_id, NEW.status, NEW.expires_at, 1, m, u);
        PERFORM ecert_daily(NEW.authority_id, NEW.issued_at, 'issued', 1);
        PERFORM ecert_daily(NEW.authority_id, NEW.claimed_at, 'claimed', 1);
        PERFORM ecert_daily(NEW.authority_id, NEW.ended_at, 'ended', 1);
    ELSIF TG_OP = 'DELETE' THEN
        SELECT COUNT(*) FILTER (WHERE role = 'manager'), COUNT(*) FILTER (WHERE role = 'user') INTO m, u
            FROM holder WHERE certificate_id = OLD.id AND status = 'active';
        PERFORM ecert_tally(OLD.authority_id, OLD.status, OLD.expires_at, -1, -m, -u);
        PERFORM ecert_daily(OLD.authority_id, OLD.issued_at, 'issued', -1);
        PERFORM ecert_daily(OLD.authority_id, OLD.claimed_at, 'claimed', -1);
        PERFORM ecert_daily(OLD.authority_id, OLD.ended_at, 'ended', -1);
    ELSE
        IF OLD.authority_id IS DISTINCT FROM NEW.authority_id OR OLD.status IS DISTINCT FROM NEW.status
                OR (NEW.status = 'active' AND OLD.expires_at IS DISTINCT FROM NEW.expires_at) THEN
            SELECT COUNT(*) FILTER (WHERE role = 'manager'), COUNT(*) FILTER (WHERE role = 'user') INTO m, u
                FROM holder WHERE certificate_id = OLD.id AND status = 'active';
            PERFORM ecert_tally(OLD.authority_id, OLD.status, OLD.expires_at, -1, -m, -u);
            PERFORM ecert_tally(NEW.authority_id, NEW.status, NEW.expires_at, 1, m, u);
        END IF;
        IF OLD.authority_id IS DISTINCT FROM NEW.authority_id OR OLD.issued_at IS DISTINCT FROM NEW.issued_at THEN
            PERFORM ecert_daily(OLD.authority_id, OLD.issued_at, 'issued', -1);
            PERFORM ecert_daily(NEW.authority_id, NEW.issued_at, 'issued', 1);
        END IF;
        IF OLD.authority_id IS DISTINCT FROM NEW.authority_id OR OLD.claimed_at IS DISTINCT FROM NEW.claimed_at THEN
            PERFORM ecert_daily(OLD.authority_id, OLD.claimed_at, 'claimed', -1);
            PERFORM ecert_daily(NEW.authority_id, NEW.claimed_at, 'claimed', 1);
        END IF;
        IF OLD.authority_id IS DISTINCT FROM NEW.authority_id OR OLD.ended_at IS DISTINCT FROM NEW.ended_at THEN
            PERFORM ecert_daily(OLD.authority_id, OLD.ended_at, 'ended', -1);
            PERFORM ecert_daily(NEW.authority_id, NEW.ended_at, 'ended', 1);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER certificate_tally AFTER INSERT OR DELETE
    OR UPDATE OF status, expires_at, authority_id, issued_at, claimed_at, ended_at ON certificate
    FOR EACH ROW EXECUTE FUNCTION ecert_certificate_tally();

-- A holder counts for its certificate's row while it is an active manager or user.
CREATE FUNCTION ecert_holder_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c certificate%ROWTYPE;
BEGIN
    IF TG_OP <> 'INSERT' THEN
      IF OLD.status = 'active' AND OLD.role IN ('manager', 'user') THEN
        SELECT * INTO c FROM certificate WHERE id = OLD.certificate_id;
        PERFORM ecert_tally(c.authority_id, c.status, c.expires_at, 0,
            -(CASE WHEN OLD.role = 'manager' THEN 1 ELSE 0 END), -(CASE WHEN OLD.role = 'user' THEN 1 ELSE 0 END));
      END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
      IF NEW.status = 'active' AND NEW.role IN ('manager', 'user') THEN
        SELECT * INTO c FROM certificate WHERE id = NEW.certificate_id;
        PERFORM ecert_tally(c.authority_id, c.status, c.expires_at, 0,
            CASE WHEN NEW.role = 'manager' THEN 1 ELSE 0 END, CASE WHEN NEW.role = 'user' THEN 1 ELSE 0 END);
      END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER holder_tally AFTER INSERT OR DELETE OR UPDATE OF status, role, certificate_id ON holder
    FOR EACH ROW EXECUTE FUNCTION ecert_holder_tally();
