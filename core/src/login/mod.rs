//! R11 scan login. A PC page asks for a login request and shows its QR and a match code; the
//! browser that asked keeps a second secret in a cookie and polls with it. A holder's wallet scans
//! the QR (signed by the device key) and sees which system asks, from which browser and network
//! address, and three match codes: the holder picks the one the PC shows and confirms with the
//! certificate password (signed again), or rejects. A wrong pick ends the request: whoever sent
//! the holder a login link cannot make it pass without the holder seeing the PC (issue 14 §1).
//! A confirmed login is consumed once, by the browser that asked, and becomes a session.
//!
//! States: waiting → scanned → confirmed | rejected, and expired after 5 minutes unless confirmed.
//!
//! A login must not become a session but once, for the browser that started it, and a relying
//! party's login must never become a dashboard session.

pub mod approval;
#[cfg(feature = "server")]
pub mod changes;
pub mod oidc;
pub mod requester;
#[cfg(feature = "server")]
pub(crate) mod scanning;

pub use requester::Requester;

use serde::{Deserialize, Serialize};

/// Life of a login QR, in minutes.
pub const LOGIN_MINUTES: i64 = 5;
/// Life of a manager-dashboard session, in hours.
pub const SESSION_HOURS: i64 = 8;
/// The system name of the manager dashboard. A relying party's logins carry its registered
/// name and its id (see [`start_for_party`]).
pub const DASHBOARD: &str = "dashboard";

/// What the polling PC page learns; on the wire as [`LoginState::as_str`] gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginState {
    Waiting,
    Scanned,
    Confirmed,
    Rejected,
    Expired,
    /// No login request for this browser (never asked, or already consumed).
    Unknown,
}

impl LoginState {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginState::Waiting => "waiting",
            LoginState::Scanned => "scanned",
            LoginState::Confirmed => "confirmed",
            LoginState::Rejected => "rejected",
            LoginState::Expired => "expired",
            LoginState::Unknown => "unknown",
        }
    }
}

/// How many match codes the phone offers; one of them is the PC's.
pub const MATCH_CHOICES: usize = 3;

/// What the wallet shows after scanning: who asks, from where, and the match codes to pick the
/// PC's from. The PC's code itself is never sent to the phone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginPrompt {
    pub system: String,
    /// A relying party's registered domain: the host (and port) of the registered redirect URL
    /// this login returns to. `None` for the manager dashboard.
    pub party_domain: Option<String>,
    /// [`MATCH_CHOICES`] two-digit codes in the order to show them.
    pub match_choices: Vec<String>,
    pub institution_name: String,
    pub role: crate::holder::Role,
    /// The requesting browser's network address, as the server saw it.
    pub requested_from: Option<String>,
    /// Its browser and system ("Chrome 131 · Windows"), when recognised.
    pub requested_with: Option<String>,
    /// When it asked (milliseconds since the epoch).
    pub requested_at: i64,
    /// The phone and the requesting browser are on different networks: the phone warns.
    pub network_differs: bool,
    pub expires_at: i64,
}

/// A live session of a holder, as the wallet lists it (issue 14 §1): the manager dashboard
/// opened by a scan login, or a relying party's access after one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// `dashboard` or `party`.
    pub kind: String,
    /// What names it to [`end_own_session`]: the first 16 hex digits of the token's hash.
    pub handle: String,
    /// The dashboard, or the relying party's registered name.
    pub system: String,
    pub requested_from: Option<String>,
    pub requested_with: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What the wallet shows of its holder's account: live sessions, and the roles added lately
/// that the holder may see (R7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub sessions: Vec<SessionView>,
    pub notices: Vec<crate::holder::ChangeView>,
}

/// Session kinds of [`SessionView::kind`].
pub const DASHBOARD_SESSION: &str = "dashboard";
pub const PARTY_SESSION: &str = "party";
/// How far back the wallet's notices of new roles go, in days.
pub const NOTICE_DAYS: i64 = 30;

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use super::{changes, scanning};
    use crate::device::{self, action};
    use crate::error::{DomainError, Result};
    use crate::holder::{Caller, Role};
    use crate::secret::{Random, Secret, token_hash};
    use crate::store::{Db, query};
    use crate::time::Millis;

    /// A new login request: the code for the QR, the browser secret for the cookie, both shown once.
    #[derive(Debug)]
    pub struct Started {
        /// The login request's id (not a secret: it never leaves the server).
        pub id: String,
        pub code: Secret,
        pub browser: Secret,
        pub match_code: String,
        pub expires_at: Millis,
    }

    /// A login for the manager dashboard, asked for by `requester`.
    pub async fn start(db: &Db, system: &str, requester: &Requester, now: Millis, random: &Random) -> Result<Started> {
        start_with(db, system, None, requester, now, random).await
    }

    /// A login for a relying party (OpenID Connect): the wallet shows `system`, the party's
    /// registered name; the confirmed login is taken with [`take_for_party`], never as a
    /// dashboard session.
    pub async fn start_for_party(
        db: &Db,
        system: &str,
        party_id: &str,
        requester: &Requester,
        now: Millis,
        random: &Random,
    ) -> Result<Started> {
        // The wallet shows `dashboard` as the manager dashboard: a party must not pass as it.
        if system.trim().eq_ignore_ascii_case(DASHBOARD) {
            return Err(DomainError::Forbidden.into());
        }
        start_with(db, system, Some(party_id), requester, now, random).await
    }

    async fn start_with(
        db: &Db,
        system: &str,
        party_id: Option<&str>,
        requester: &Requester,
        now: Millis,
        random: &Random,
    ) -> Result<Started> {
        let id = random.id();
        let code = random.token();
        let browser = random.token();
        let (match_code, choices) = match_codes(random);
        let expires_at = now.plus_minutes(LOGIN_MINUTES);
        db.execute(
            query(
                "INSERT INTO login_request (id, code_hash, browser_hash, system, match_code, match_choices, status, \
                 created_at, expires_at, updated_at, party_id, requester_ip, requester_agent) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'waiting', $7, $8, $7, $9, $10, $11)",
            )
            .bind(&id)
            .bind(token_hash(code.expose()))
            .bind(token_hash(browser.expose()))
            .bind(system)
            .bind(&match_code)
            .bind(choices.join(" "))
            .bind(now.0)
            .bind(expires_at.0)
            .bind(party_id)
            .bind(&requester.ip)
            .bind(&requester.user_agent),
        )
        .await?;
        Ok(Started { id, code, browser, match_code, expires_at })
    }

    /// The PC's two-digit match code and the [`MATCH_CHOICES`] codes the phone offers: the PC's
    /// and distinct decoys, the PC's at a random place. Chosen once, when the login starts, so
    /// that scanning again shows the same three.
    pub(crate) fn match_codes(random: &Random) -> (String, Vec<String>) {
        let mut choices: Vec<String> = Vec::with_capacity(MATCH_CHOICES);
        while choices.len() < MATCH_CHOICES {
            let code = random.digits(2).expose().to_owned();
            if !choices.contains(&code) {
                choices.push(code);
            }
        }
        let mut byte = [255u8; 1];
        while byte[0] == u8::MAX {
            random.fill(&mut byte); // 255 = 3 × 85: no place is likelier than another
        }
        let real = choices[usize::from(byte[0]) % MATCH_CHOICES].clone();
        (real, choices)
    }

    pub(crate) fn state_of(status: &str, expires_at: i64, now: Millis) -> LoginState {
        match status {
            "confirmed" => LoginState::Confirmed,
            "rejected" => LoginState::Rejected,
            "consumed" => LoginState::Unknown,
            _ if expires_at <= now.0 => LoginState::Expired,
            "scanned" => LoginState::Scanned,
            _ => LoginState::Waiting,
        }
    }

    /// The hot path: one indexed read, or none. On PostgreSQL a login that is waiting or
    /// scanned is answered from this app server's memory while its listener hears every move
    /// ([`changes::state`]).
    pub async fn poll(db: &Db, browser: &str, now: Millis) -> Result<LoginState> {
        Ok(changes::state(db, &token_hash(browser), now).await?.0)
    }

    /// A dashboard session token, shown once.
    #[derive(Debug)]
    pub struct Session {
        pub token: Secret,
        pub expires_at: Millis,
    }

    /// Takes a confirmed dashboard login for the browser that asked, exactly once, and opens a
    /// session. A relying party's login never becomes a dashboard session.
    pub async fn consume(db: &Db, browser: &str, now: Millis, random: &Random) -> Result<Option<Session>> {
        let mut tx = db.begin_write().await?;
        type Consumed = (String, String, Option<String>, Option<String>);
        let row: Option<Consumed> = tx
            .fetch_optional(
                query(
                    "UPDATE login_request SET status = 'consumed', updated_at = $1 \
             WHERE browser_hash = $2 AND status = 'confirmed' AND party_id IS NULL \
             RETURNING holder_id, device_id, requester_ip, requester_agent",
                )
                .bind(now.0)
                .bind(token_hash(browser)),
            )
            .await?;
        let Some((holder_id, device_id, ip, agent)) = row else { return Ok(None) };
        let token = random.token();
        let expires_at = Millis(now.0 + SESSION_HOURS * Millis::HOUR);
        tx.execute(
            query(
                "INSERT INTO holder_session (token_hash, holder_id, device_id, created_at, expires_at, requester_ip, \
                 requester_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(token_hash(token.expose()))
            .bind(&holder_id)
            .bind(&device_id)
            .bind(now.0)
            .bind(expires_at.0)
            .bind(ip)
            .bind(agent),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Session { token, expires_at }))
    }

    /// A confirmed relying-party login, as [`take_for_party`] hands it over.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Taken {
        pub holder_id: String,
        pub device_id: String,
        /// When the holder confirmed (OpenID Connect `auth_time`).
        pub confirmed_at: Millis,
    }

    /// Takes the confirmed login `login_id` of `party_id` for the browser that asked (bound to
    /// its cookie exactly like [`consume`]), exactly once, inside the caller's transaction.
    pub async fn take_for_party(
        tx: &mut crate::store::Tx,
        login_id: &str,
        party_id: &str,
        browser: &str,
        now: Millis,
    ) -> Result<Option<Taken>> {
        let sql = "SELECT holder_id, device_id, updated_at FROM login_request \
             WHERE id = $1 AND party_id = $2 AND browser_hash = $3 AND status = 'confirmed'";
        let row: Option<(String, String, i64)> =
            tx.fetch_optional(query(sql).lock_rows().bind(login_id).bind(party_id).bind(token_hash(browser))).await?;
        let Some((holder_id, device_id, confirmed_at)) = row else { return Ok(None) };
        let n = tx.execute(query("UPDATE login_request SET status = 'consumed', updated_at = $1 WHERE id = $2 AND status = 'confirmed'").bind(now.0).bind(login_id)).await?;
        Ok((n == 1).then_some(Taken { holder_id, device_id, confirmed_at: Millis(confirmed_at) }))
    }

    /// The caller of a dashboard session, while the session, its holder, its device and the
    /// certificate are all live (R8, R14, R15: re-checked on every request).
    pub async fn current(db: &Db, token: &str, now: Millis) -> Result<Option<Caller>> {
        let row: Option<(String, String, crate::holder::Role, String)> = db
            .fetch_optional(
                query(concat!(
                    "SELECT h.id, h.certificate_id, h.role, i.authority_id FROM holder_session s \
             JOIN holder h ON h.id = s.holder_id JOIN device d ON d.id = s.device_id \
             JOIN certificate c ON c.id = h.certificate_id JOIN institution i ON i.id = c.institution_id \
             WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 \
             AND ",
                    crate::binding_live_sql!("$2")
                ))
                .bind(token_hash(token))
                .bind(now.0),
            )
            .await?;
        Ok(row.map(|(holder_id, certificate_id, role, authority_id)| Caller {
            holder_id,
            certificate_id,
            role,
            authority_id,
            via: crate::holder::Via::Session(crate::holder::StepUp {
                session_hash: token_hash(token),
                approval_id: None,
            }),
        }))
    }

    pub async fn end_session(db: &Db, token: &str, now: Millis) -> Result<()> {
        db.execute(
            query("UPDATE holder_session SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL")
                .bind(now.0)
                .bind(token_hash(token)),
        )
        .await?;
        Ok(())
    }

    /// The holder's live sessions (dashboard sessions and relying parties' access tokens) and
    /// the roles added in the last [`NOTICE_DAYS`] days that the holder may see (R7).
    pub async fn activity(db: &Db, caller: &Caller, now: Millis) -> Result<Activity> {
        type Row = (String, Option<String>, Option<String>, i64, i64);
        let dashboard: Vec<Row> = db
            .fetch_all(
                query(
                    "SELECT token_hash, requester_ip, requester_agent, created_at, expires_at FROM holder_session \
                     WHERE holder_id = $1 AND ended_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 50",
                )
                .bind(&caller.holder_id)
                .bind(now.0),
            )
            .await?;
        let parties: Vec<(String, String, i64, i64)> = db
            .fetch_all(
                query(
                    "SELECT t.token_hash, p.name, t.created_at, t.expires_at FROM oidc_token t \
                     JOIN relying_party p ON p.id = t.party_id WHERE t.holder_id = $1 AND t.revoked_at IS NULL \
                     AND t.expires_at > $2 ORDER BY t.created_at DESC LIMIT 50",
                )
                .bind(&caller.holder_id)
                .bind(now.0),
            )
            .await?;
        let handle = |hash: &str| hash.chars().take(16).collect::<String>();
        let mut sessions: Vec<SessionView> = dashboard
            .into_iter()
            .map(|(hash, ip, agent, created_at, expires_at)| SessionView {
                kind: DASHBOARD_SESSION.into(),
                handle: handle(&hash),
                system: DASHBOARD.into(),
                requested_with: agent.as_deref().and_then(requester::browser_label),
                requested_from: ip,
                created_at,
                expires_at,
            })
            .collect();
        sessions.extend(parties.into_iter().map(|(hash, name, created_at, expires_at)| SessionView {
            kind: PARTY_SESSION.into(),
            handle: handle(&hash),
            system: name,
            requested_from: None,
            requested_with: None,
            created_at,
            expires_at,
        }));
        sessions.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        let since = now.0 - NOTICE_DAYS * Millis::DAY;
        let notices = crate::holder::changes(db, caller, 100)
            .await?
            .into_iter()
            .filter(|c| {
                c.at >= since
                    && matches!(
                        c.kind,
                        crate::changes::ChangeKind::ManagerAdded | crate::changes::ChangeKind::UserAdded
                    )
            })
            .collect();
        Ok(Activity { sessions, notices })
    }

    /// Ends one of the holder's own sessions, named by its kind and handle; another holder's,
    /// or one already over, is `NotFound`.
    pub async fn end_own_session(db: &Db, caller: &Caller, kind: &str, handle: &str, now: Millis) -> Result<()> {
        let handle = handle.trim();
        if handle.len() != 16 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DomainError::NotFound.into());
        }
        let prefix = format!("{}%", handle.to_ascii_lowercase());
        let sql = match kind {
            DASHBOARD_SESSION => {
                "UPDATE holder_session SET ended_at = $1 WHERE holder_id = $2 AND token_hash LIKE $3 \
                 AND ended_at IS NULL AND expires_at > $1"
            }
            PARTY_SESSION => {
                "UPDATE oidc_token SET revoked_at = $1 WHERE holder_id = $2 AND token_hash LIKE $3 \
                 AND revoked_at IS NULL AND expires_at > $1"
            }
            _ => return Err(DomainError::NotFound.into()),
        };
        let n = db.execute(query(sql).bind(now.0).bind(&caller.holder_id).bind(prefix)).await?;
        if n >= 1 { Ok(()) } else { Err(DomainError::NotFound.into()) }
    }

    struct RequestRow {
        id: String,
        system: String,
        match_code: String,
        match_choices: Option<String>,
        progress: scanning::Progress,
        party_id: Option<String>,
        requester_ip: Option<String>,
        requester_agent: Option<String>,
        created_at: i64,
        browser_hash: String,
    }
    crate::store::from_row!(RequestRow { id, system, match_code, match_choices, party_id, requester_ip, requester_agent, created_at, browser_hash } flatten { progress });

    const REQUEST_SELECT: &str = "SELECT id, system, match_code, match_choices, status, device_id, expires_at, party_id, \
         requester_ip, requester_agent, created_at, browser_hash FROM login_request WHERE code_hash = $1";

    /// R23: a user granted the registration business (登记业务) of their certificate's authority
    /// today, who may sign in to the dashboard to file it.
    async fn files_registration(tx: &mut crate::store::Tx, bound: &device::Bound, now: Millis) -> Result<bool> {
        let authority: String = tx
            .fetch_one(
                query("SELECT i.authority_id FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1")
                    .bind(&bound.certificate_id),
            )
            .await?;
        let matter = crate::holder::registration_matter(&authority);
        crate::holder::has_matter_in_force(tx, &bound.holder_id, &matter, now).await
    }

    async fn request_by_code(tx: &mut crate::store::Tx, code: &str) -> Result<RequestRow> {
        scanning::by_code(tx, REQUEST_SELECT, "login_request", code).await
    }

    /// The domain the phone names for a relying party's login: the host (and port) of the
    /// registered redirect URL this very authorization request sends the browser back to, or of
    /// the party's first one.
    async fn party_domain(tx: &mut crate::store::Tx, login_id: &str, party_id: &str) -> Result<Option<String>> {
        let asked: Option<(String,)> = tx
            .fetch_optional(query("SELECT redirect_uri FROM oidc_request WHERE login_id = $1").bind(login_id))
            .await?;
        let url = match asked {
            Some((url,)) => Some(url),
            None => tx
                .fetch_optional(query("SELECT redirect_uris FROM relying_party WHERE id = $1").bind(party_id))
                .await?
                .and_then(|(uris,): (String,)| uris.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned)),
        };
        Ok(url.and_then(|url| {
            let rest = url.split_once("://")?.1;
            let host = rest.split(['/', '?', '#']).next()?;
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            (!host.is_empty()).then(|| host.to_owned())
        }))
    }

    /// The wallet scanned a login QR: marks it scanned by this device and returns what to show.
    /// `phone_ip` is the phone's own address, to tell the holder when the PC is elsewhere.
    pub async fn scan(
        db: &Db,
        code: &str,
        device_id: &str,
        signature: &str,
        phone_ip: Option<&str>,
        now: Millis,
    ) -> Result<LoginPrompt> {
        let bound =
            device::signed(db, device_id, &device::message(action::LOGIN_SCAN, code.trim()), signature, now).await?;
        let mut tx = db.begin_write().await?;
        let row = request_by_code(&mut tx, code).await?;
        scanning::open_for(&row.progress, device_id, now)?;
        // The dashboard refuses users, but for one granted the registration business (R23), who
        // files there; a relying party takes a user with a grant in force (R17) and decides for
        // itself by `role` and matters.
        if row.party_id.is_none() && bound.role == Role::User && !files_registration(&mut tx, &bound, now).await? {
            return Err(DomainError::NotAManager.into());
        }
        if bound.role == Role::User && !crate::holder::has_grant_in_force(&mut tx, &bound.holder_id, now).await? {
            return Err(DomainError::NoGrantInForce.into());
        }
        scanning::mark_scanned(&mut tx, "login_request", &row.id, &bound.holder_id, device_id, now).await?;
        let institution_name = scanning::institution_name(&mut tx, &bound.certificate_id).await?;
        let party_domain = match &row.party_id {
            Some(party) => party_domain(&mut tx, &row.id, party).await?,
            None => None,
        };
        changes::announce(&mut tx, &row.browser_hash).await?;
        tx.commit().await?;
        changes::moved(db, &row.browser_hash);
        let match_choices = match &row.match_choices {
            Some(choices) => choices.split(' ').map(str::to_owned).collect(),
            // A login started before the choices were kept: the PC's code alone.
            None => vec![row.match_code.clone()],
        };
        Ok(LoginPrompt {
            system: row.system,
            party_domain,
            match_choices,
            institution_name,
            role: bound.role,
            network_differs: requester::networks_differ(row.requester_ip.as_deref(), phone_ip),
            requested_with: row.requester_agent.as_deref().and_then(requester::browser_label),
            requested_from: row.requester_ip,
            requested_at: row.created_at,
            expires_at: row.progress.expires_at,
        })
    }

    /// The holder's yes: the certificate password and the match code picked on the phone.
    #[derive(Debug)]
    pub struct Approval {
        pub password: Secret,
        pub match_code: String,
    }

    impl Approval {
        /// Both parts present, or `Validation` naming each one missing.
        pub(crate) fn check_filled(&self) -> Result<()> {
            let mut missing = Vec::new();
            if self.match_code.trim().is_empty() {
                missing.push(crate::error::FieldError::new("match_code", crate::error::Problem::Required));
            }
            if self.password.expose().is_empty() {
                missing.push(crate::error::FieldError::new("certificate_password", crate::error::Problem::Required));
            }
            if missing.is_empty() { Ok(()) } else { Err(DomainError::Validation(missing).into()) }
        }
    }

    /// The holder confirms (an [`Approval`]) or rejects a scanned login on the device that
    /// scanned it. A picked match code that is not the PC's ends the request like a rejection,
    /// before any password is tried, and answers `MatchCodeWrong`. Either way a usage record is
    /// written (R12).
    pub async fn answer(
        db: &Db,
        code: &str,
        device_id: &str,
        signature: &str,
        approve: Option<Approval>,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        let act = if approve.is_some() { action::LOGIN_APPROVE } else { action::LOGIN_REJECT };
        if let Some(a) = &approve {
            a.check_filled()?;
        }
        let bound = device::signed(db, device_id, &device::message(act, code.trim()), signature, now).await?;
        let mut matched = true;
        if let Some(a) = &approve {
            // The request must be answerable before a password try is spent on it, and the
            // holder must have seen the PC.
            let row: Option<RequestRow> =
                db.fetch_optional(query(REQUEST_SELECT).bind(token_hash(code.trim()))).await?;
            let row = row.ok_or(DomainError::CodeInvalid)?;
            scanning::answerable(&row.progress, device_id, now)?;
            matched = crate::secret::constant_time_eq(a.match_code.trim(), &row.match_code);
            if matched {
                device::check_password(db, device_id, a.password.clone()).await?;
            }
        }
        let mut tx = db.begin_write().await?;
        let row = request_by_code(&mut tx, code).await?;
        scanning::answerable(&row.progress, device_id, now)?;
        // R17: a grant cancelled or ended since the scan logs no user in (R23: on the dashboard,
        // the registration business's).
        let approving = approve.is_some() && matched;
        if approving && bound.role == Role::User {
            let in_force = if row.party_id.is_none() {
                files_registration(&mut tx, &bound, now).await?
            } else {
                crate::holder::has_grant_in_force(&mut tx, &bound.holder_id, now).await?
            };
            if !in_force {
                return Err(DomainError::NoGrantInForce.into());
            }
        }
        let (status, result) = match (&approve, matched) {
            (Some(_), true) => ("confirmed", "confirmed"),
            (Some(_), false) => ("rejected", MATCH_FAILED),
            (None, _) => ("rejected", "rejected"),
        };
        scanning::answer(&mut tx, "login_request", &row.id, device_id, status, now).await?;
        // R12: the record names the relying party that asked, if any.
        let usage = crate::records::Usage {
            certificate_id: &bound.certificate_id,
            holder_id: Some(&bound.holder_id),
            kind: crate::records::UsageKind::Login,
            system: &row.system,
            result,
            party_id: row.party_id.as_deref(),
            counter_id: None,
        };
        crate::records::record_usage(&mut tx, &usage, now, random).await?;
        changes::announce(&mut tx, &row.browser_hash).await?;
        tx.commit().await?;
        changes::moved(db, &row.browser_hash);
        if matched { Ok(()) } else { Err(DomainError::MatchCodeWrong.into()) }
    }

    /// The usage record's result of a login ended by a wrong match code.
    pub const MATCH_FAILED: &str = "match_failed";
}
