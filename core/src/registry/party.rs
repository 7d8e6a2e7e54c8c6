//! Relying parties (应用系统, 政务大厅, 银行): the systems and counters that use certificates.
//!
//! An authority's staff register a party in the console. A party is an OpenID Connect client
//! (its id is the client id; the 256-bit secret is shown once and kept as SHA-256) and owns
//! counters: accounts for the verifier page, one per window, with their own password (argon2id,
//! locked after 5 wrong entries) and R10's rate limit on numeric codes. Verification is national:
//! a counter checks certificates of any authority.

use serde::{Deserialize, Serialize};

/// What staff enter to register a relying party.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyInput {
    pub name: String,
    /// Absolute redirect URLs of its OpenID Connect login, one per line; empty for counters only.
    pub redirect_uris: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterView {
    pub id: String,
    pub name: String,
    pub username: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyView {
    /// Also its OpenID Connect `client_id`.
    pub id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub status: String,
    pub created_at: i64,
    pub counters: Vec<CounterView>,
    /// Its subscription to the directory feed (issue 18 §3), if it has one.
    pub directory: Option<crate::feed::SubscriptionView>,
    /// What the application-scenario list says of it (issue 18 §3).
    pub scenario: ScenarioInput,
}

/// What an administrator publishes of a relying party in the application-scenario list and
/// service guide (应用场景清单, 服务指南, seed 002).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioInput {
    /// Shown on the public list.
    pub published: bool,
    /// What the certificate is accepted for (办理事项), e.g. "单位账户开立；预留信息变更".
    pub services: String,
    /// How (服务指南): where to go or which site to open, and what to do there.
    pub guide: String,
    /// The hall's address or the site's URL.
    pub entry: String,
}

/// Longest texts of a scenario, in characters.
pub const SERVICES_MAX: usize = 500;
pub const GUIDE_MAX: usize = 2000;
pub const ENTRY_MAX: usize = 300;

/// A published scenario as the public list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioView {
    pub party_name: String,
    /// The registration authority that registered the party.
    pub authority_name: String,
    pub services: String,
    pub guide: String,
    pub entry: String,
    /// The party signs holders in by scan login (it has redirect URLs).
    pub scan_login: bool,
    /// Its counters that check presented certificates.
    pub counters: i64,
}

/// A credential shown once: a new party's client secret or a new counter's password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownOnce {
    /// The party id (client id) or the counter's user name.
    pub login: String,
    pub secret: String,
}

/// A signed-in counter, as the verifier page sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterCaller {
    pub counter_id: String,
    pub counter_name: String,
    pub party_id: String,
    pub party_name: String,
    /// The counter's window of failed checks as its session was read (R10), so that a counter
    /// whose tries are spent is refused before any lookup without a read of its own. Only a
    /// shortcut: the writer's compare-and-set on the counter's row decides
    /// (`presentation::verify_number`). Never sent to the page.
    #[serde(skip)]
    pub window: CheckWindow,
}

/// A window of failed numeric checks (R10) as read: when it started and how many tries it spent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckWindow {
    pub start: i64,
    pub failures: i64,
}

/// What stands between the party's name and the counter's in a counter's label.
pub const LABEL_SEPARATOR: &str = " · ";

impl CounterCaller {
    /// How usage records name it (R12): "party · counter".
    pub fn label(&self) -> String {
        format!("{}{LABEL_SEPARATOR}{}", self.party_name, self.counter_name)
    }
}

/// Longest party or counter name, in characters.
pub const NAME_MAX: usize = 100;
/// Most redirect URLs per party.
pub const REDIRECTS_MAX: usize = 10;

/// Checks a redirect URL: absolute, `https`, or `http` on the loopback interface only (RFC 8252),
/// no fragment, no user info.
pub fn check_redirect_uri(uri: &str) -> bool {
    let (scheme, rest) = match uri.split_once("://") {
        Some(parts) => parts,
        None => return false,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // An IPv6 literal ends with `]`; otherwise what follows the last `:` is a port, digits only.
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !authority.ends_with(']') => (h, p),
        _ => (authority, ""),
    };
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    !host.is_empty()
        && port.chars().all(|c| c.is_ascii_digit())
        && !authority.contains('@')
        && !uri.contains('#')
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
        && (scheme == "https" || (scheme == "http" && loopback))
}

/// The redirect URLs of a party, one per line, trimmed, blank lines dropped.
pub fn redirect_lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// What the platform calls itself and its certificate, folded as [`imitation_key`] folds a
/// name. A relying party's name is what the phone shows when the party asks for a login, so a
/// party may not be named like the platform (issue 14 §1): "管理人后台 (登录)" would read as
/// the platform's own dashboard.
const PLATFORM_NAMES: &[&str] =
    &["管理人后台", "法人电子证书", "电子证书", "证书钱包", "dashboard", "ecert", "electroniccertificate"];

/// A name folded for comparison: full-width letters and digits as ASCII, lower case, and
/// nothing but letters and digits, so that "管理人 后台", "Ｄａｓｈｂｏａｒｄ" and "dash-board"
/// fold alike.
pub fn imitation_key(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            c => c,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a relying party's name looks like one of the platform's own.
pub fn imitates_platform(name: &str) -> bool {
    let key = imitation_key(name);
    PLATFORM_NAMES.iter().any(|own| key.contains(own))
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn party_names_that_imitate_the_platform_are_recognised_however_written() {
        for name in [
            "管理人后台",
            "管理人 后台（登录）",
            "法人电子证书平台",
            "Manager Dashboard",
            "Ｄａｓｈｂｏａｒｄ",
            "dash-board",
            "ECERT login",
            "e-cert",
        ] {
            assert!(imitates_platform(name), "{name}");
        }
        for name in ["北京市政务服务网", "不动产登记管理系统", "某系统", "Beijing Government Services"]
        {
            assert!(!imitates_platform(name), "{name}");
        }
    }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::error::{DomainError, FieldError, Problem, Result};
    use crate::secret::{self, Random, Secret, constant_time_eq, token_hash};
    use crate::staff::{self, Duty, StaffView};
    use crate::store::{Db, is_unique_violation, query};
    use crate::time::Millis;

    /// Wrong counter passwords in a row before the counter is locked, and for how long.
    pub const MAX_FAILED_LOGINS: i64 = 5;
    pub const LOCKOUT_MINUTES: i64 = 15;
    /// A counter's session lasts one working day.
    pub const SESSION_HOURS: i64 = 10;

    /// id, name, redirect URIs, status, created at, then the published application scenario:
    /// published, services, guide, entry.
    type PartyRow = (String, String, String, String, i64, bool, String, String, String);

    fn check_name(field: &str, name: &str) -> Result<String> {
        let name = name.trim();
        if name.is_empty() {
            return Err(DomainError::field(field, Problem::Required).into());
        }
        if name.chars().count() > NAME_MAX {
            return Err(DomainError::field(field, Problem::TooLong { max: NAME_MAX }).into());
        }
        Ok(name.to_owned())
    }

    fn check_redirects(text: &str) -> Result<Vec<String>> {
        let lines = redirect_lines(text);
        if lines.len() > REDIRECTS_MAX || !lines.iter().all(|l| check_redirect_uri(l)) {
            return Err(DomainError::Validation(vec![FieldError::new("redirect_uris", Problem::BadFormat)]).into());
        }
        Ok(lines)
    }

    /// Registers a relying party of the staff member's authority; returns it and its client
    /// secret, shown once.
    pub async fn register(
        db: &Db,
        staff: &StaffView,
        input: &PartyInput,
        now: Millis,
        random: &Random,
    ) -> Result<ShownOnce> {
        let name = check_name("name", &input.name)?;
        if imitates_platform(&name) {
            return Err(DomainError::field("name", Problem::Reserved).into());
        }
        let redirects = check_redirects(&input.redirect_uris)?;
        let id = random.id();
        let secret = random.token();
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Administer).await?;
        let inserted = tx.execute(query("INSERT INTO relying_party (id, authority_id, name, client_secret_hash, redirect_uris, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $7)").bind(&id).bind(&staff.authority_id).bind(&name).bind(token_hash(secret.expose())).bind(redirects.join("\n")).bind(&staff.id).bind(now.0)).await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(DomainError::AlreadyExists { field: "name".into() }.into());
            }
            other => other?,
        };
        staff::record(&mut tx, Some(staff), &staff.authority_id, "party_register", ("party", &id), &name, now, random)
            .await?;
        tx.commit().await?;
        Ok(ShownOnce { login: id, secret: secret.expose().to_owned() })
    }

    /// The relying parties of the staff member's authority, with their counters.
    pub async fn list(db: &Db, staff: &StaffView) -> Result<Vec<PartyView>> {
        let parties: Vec<PartyRow> = db
            .fetch_all(
                query(
                    "SELECT id, name, redirect_uris, status, created_at, scenario_published, scenario_services, \
                     scenario_guide, scenario_entry FROM relying_party WHERE authority_id = $1 \
             ORDER BY created_at DESC, id",
                )
                .bind(&staff.authority_id),
            )
            .await?;
        let counters: Vec<(String, String, String, String, String)> = db
            .fetch_all(
                query(
                    "SELECT k.party_id, k.id, k.name, k.username, k.status FROM counter k \
             JOIN relying_party p ON p.id = k.party_id WHERE p.authority_id = $1 ORDER BY k.created_at, k.id",
                )
                .bind(&staff.authority_id),
            )
            .await?;
        let mut subscriptions = crate::feed::subscriptions(db, staff).await?;
        Ok(parties
            .into_iter()
            .map(|(id, name, redirects, status, created_at, published, services, guide, entry)| PartyView {
                scenario: ScenarioInput { published, services, guide, entry },
                directory: subscriptions.iter().position(|(p, _)| *p == id).map(|i| subscriptions.swap_remove(i).1),
                counters: counters
                    .iter()
                    .filter(|k| k.0 == id)
                    .map(|k| CounterView {
                        id: k.1.clone(),
                        name: k.2.clone(),
                        username: k.3.clone(),
                        status: k.4.clone(),
                    })
                    .collect(),
                redirect_uris: redirect_lines(&redirects),
                id,
                name,
                status,
                created_at,
            })
            .collect())
    }

    /// Adds a counter to a party of the staff member's authority; returns its user name and a
    /// generated password, shown once.
    pub async fn add_counter(
        db: &Db,
        staff: &StaffView,
        party_id: &str,
        name: &str,
        now: Millis,
        random: &Random,
    ) -> Result<ShownOnce> {
        let name = check_name("name", name)?;
        let password = random.password();
        // User names are short enough to type: "k" and 10 characters of the alphabet (~55 bits).
        let username = format!("k{}", &random.password().expose()[..10]).to_lowercase();
        // Hashed before the write transaction: argon2 must not run under the SQLite write lock.
        let hash = secret::hash_password(password.clone(), random).await?;
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Administer).await?;
        let sql = "SELECT id FROM relying_party WHERE id = $1 AND authority_id = $2 AND status = 'active'";
        let party: Option<String> =
            tx.fetch_optional(query(sql).lock_rows().bind(party_id).bind(&staff.authority_id)).await?;
        if party.is_none() {
            return Err(DomainError::NotFound.into());
        }
        let counter_id = random.id();
        tx.execute(
            query(
                "INSERT INTO counter (id, party_id, name, username, password_hash, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6)",
            )
            .bind(&counter_id)
            .bind(party_id)
            .bind(&name)
            .bind(&username)
            .bind(&hash)
            .bind(now.0),
        )
        .await?;
        let detail = format!("{name} {username}");
        staff::record(
            &mut tx,
            Some(staff),
            &staff.authority_id,
            "counter_add",
            ("counter", &counter_id),
            &detail,
            now,
            random,
        )
        .await?;
        tx.commit().await?;
        Ok(ShownOnce { login: username, secret: password.expose().to_owned() })
    }

    /// What an administrator changes of a relying party of their authority (issue 15 §2).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum PartyChange {
        /// Suspended, it signs nobody in and its counters verify nothing; resumed, they do again.
        Suspend,
        Resume,
        /// Its redirect URLs, one a line.
        Redirects(String),
    }

    /// Suspends, resumes or re-addresses a relying party of the administrator's authority;
    /// recorded in the action log.
    pub async fn change_party(
        db: &Db,
        staff: &StaffView,
        party_id: &str,
        change: &PartyChange,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        let redirects = match change {
            PartyChange::Redirects(text) => Some(check_redirects(text)?.join("\n")),
            _ => None,
        };
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Administer).await?;
        let (name, status, current) = own_party(&mut tx, staff, party_id).await?;
        let (action, status, redirects) = match change {
            PartyChange::Suspend => ("party_suspend", "suspended".to_owned(), current),
            PartyChange::Resume => ("party_resume", "active".to_owned(), current),
            PartyChange::Redirects(_) => ("party_redirects", status, redirects.unwrap_or_default()),
        };
        tx.execute(
            query("UPDATE relying_party SET status = $1, redirect_uris = $2 WHERE id = $3")
                .bind(status)
                .bind(&redirects)
                .bind(party_id),
        )
        .await?;
        let detail = match change {
            PartyChange::Redirects(_) => format!("{name}: {}", redirects.replace('\n', " ")),
            _ => name,
        };
        staff::record(&mut tx, Some(staff), &staff.authority_id, action, ("party", party_id), &detail, now, random)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets what the application-scenario list says of a relying party of the administrator's
    /// authority (issue 18 §3); recorded in the action log. A published scenario names at least
    /// what the certificate is accepted for.
    pub async fn set_scenario(
        db: &Db,
        staff: &StaffView,
        party_id: &str,
        input: &ScenarioInput,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        let mut checks = crate::validate::Checks::new();
        let services = checks.take(crate::validate::optional_text("services", &input.services, SERVICES_MAX, false));
        let guide = checks.take(crate::validate::optional_text("guide", &input.guide, GUIDE_MAX, true));
        let entry = checks.take(crate::validate::optional_text("entry", &input.entry, ENTRY_MAX, false));
        checks.finish()?;
        if input.published && services.is_empty() {
            return Err(DomainError::field("services", Problem::Required).into());
        }
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Administer).await?;
        let (name, _, _) = own_party(&mut tx, staff, party_id).await?;
        tx.execute(
            query(
                "UPDATE relying_party SET scenario_published = $1, scenario_services = $2, scenario_guide = $3, \
                 scenario_entry = $4 WHERE id = $5",
            )
            .bind(input.published)
            .bind(&services)
            .bind(&guide)
            .bind(&entry)
            .bind(party_id),
        )
        .await?;
        let detail = format!("{name}: {}", if input.published { "published" } else { "not published" });
        let target = ("party", party_id);
        staff::record(&mut tx, Some(staff), &staff.authority_id, "party_scenario", target, &detail, now, random)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The application-scenario list (public): every active party whose scenario is published,
    /// by its authority's division code and its name; at most 1,000.
    pub async fn scenarios(db: &Db) -> Result<Vec<ScenarioView>> {
        type Row = (String, String, String, String, String, String, i64);
        let rows: Vec<Row> = db
            .fetch_all(query(
                "SELECT p.name, a.name, p.scenario_services, p.scenario_guide, p.scenario_entry, p.redirect_uris, \
                 (SELECT COUNT(*) FROM counter k WHERE k.party_id = p.id AND k.status = 'active') \
                 FROM relying_party p JOIN authority a ON a.id = p.authority_id \
                 WHERE p.scenario_published = TRUE AND p.status = 'active' \
                 ORDER BY a.region_code, p.name, p.id LIMIT 1000",
            ))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(party_name, authority_name, services, guide, entry, redirects, counters)| ScenarioView {
                party_name,
                authority_name,
                services,
                guide,
                entry,
                scan_login: !redirect_lines(&redirects).is_empty(),
                counters,
            })
            .collect())
    }

    /// A new client secret for a relying party of the administrator's authority, shown once;
    /// the old one stops working at once.
    pub async fn rotate_secret(
        db: &Db,
        staff: &StaffView,
        party_id: &str,
        now: Millis,
        random: &Random,
    ) -> Result<ShownOnce> {
        let secret = random.token();
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Administer).await?;
        let (name, _, _) = own_party(&mut tx, staff, party_id).await?;
        tx.execute(
            query("UPDATE relying_party SET client_secret_hash = $1 WHERE id = $2")
                .bind(token_hash(secret.expose()))
                .bind(party_id),
        )
        .await?;
        staff::record(
            &mut tx,
            Some(staff),
            &staff.authority_id,
            "party_rotate_secret",
            ("party", party_id),
            &name,
            now,
            random,
        )
        .await?;
        tx.commit().await?;
        Ok(ShownOnce { login: party_id.to_owned(), secret: secret.expose().to_owned() })
    }

    /// A new generated password for a counter of the administrator's authority, shown once; it
    /// unlocks the counter and ends its sessions.
    pub async fn reset_counter_password(
        db: &Db,
        staff: &StaffView,
        counter_id: &str,
        now: Millis,
        random: &Random,
    ) -> Result<ShownOnce> {
        let password = random.password();
        // Hashed before the write transaction: argon2 must not run under the SQLite write lock.
        let hash = secret::hash_password(password.clone(), random).await?;
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Administer).await?;
        let username: Option<String> = tx
            .fetch_optional(
                query(
                    "SELECT k.username FROM counter k JOIN relying_party p ON p.id = k.party_id \
                     WHERE k.id = $1 AND p.authority_id = $2",
                )
                .lock_rows_of("k")
                .bind(counter_id)
                .bind(&staff.authority_id),
            )
            .await?;
        let username = username.ok_or(DomainError::NotFound)?;
        tx.execute(
            query("UPDATE counter SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2")
                .bind(&hash)
                .bind(counter_id),
        )
        .await?;
        tx.execute(
            query("UPDATE counter_session SET ended_at = $1 WHERE counter_id = $2 AND ended_at IS NULL")
                .bind(now.0)
                .bind(counter_id),
        )
        .await?;
        let target = ("counter", counter_id);
        staff::record(&mut tx, Some(staff), &staff.authority_id, "counter_reset", target, &username, now, random)
            .await?;
        tx.commit().await?;
        Ok(ShownOnce { login: username, secret: password.expose().to_owned() })
    }

    /// The name, status and redirect URLs of a relying party of the staff member's authority,
    /// its row locked.
    pub(crate) async fn own_party(
        tx: &mut crate::store::Tx,
        staff: &StaffView,
        party_id: &str,
    ) -> Result<(String, String, String)> {
        let row: Option<(String, String, String)> = tx
            .fetch_optional(
                query("SELECT name, status, redirect_uris FROM relying_party WHERE id = $1 AND authority_id = $2")
                    .lock_rows()
                    .bind(party_id)
                    .bind(&staff.authority_id),
            )
            .await?;
        row.ok_or_else(|| DomainError::NotFound.into())
    }

    /// A new counter session; the token goes into a cookie and is stored nowhere.
    #[derive(Debug)]
    pub struct NewSession {
        pub token: Secret,
        pub expires_at: Millis,
    }

    /// Unlocks a counter after too many wrong passwords (`ecert-server staff unlock`): the count
    /// starts again. False when no counter has that name.
    pub async fn unlock_counter(db: &Db, username: &str) -> Result<bool> {
        let sql = "UPDATE counter SET failed_logins = 0, locked_until = NULL WHERE username = $1";
        Ok(db.execute(query(sql).bind(username.trim().to_lowercase())).await? > 0)
    }

    /// Signs a counter in to the verifier page. Five wrong passwords in a row lock it for 15
    /// minutes; an unknown user name costs as much time as a wrong password.
    pub async fn sign_in(
        db: &Db,
        username: &str,
        password: Secret,
        now: Millis,
        random: &Random,
    ) -> Result<NewSession> {
        let row: Option<(String, String, Option<i64>)> = db.fetch_optional(query("SELECT k.id, k.password_hash, k.locked_until FROM counter k JOIN relying_party p ON p.id = k.party_id \
             WHERE k.username = $1 AND k.status = 'active' AND p.status = 'active'").bind(username.trim().to_lowercase())).await?;
        let Some((id, hash, locked_until)) = row else {
            secret::verify_password(password, secret::dummy_hash(random).await).await;
            return Err(DomainError::InvalidCredentials.into());
        };
        if locked_until.is_some_and(|u| u > now.0) {
            return Err(DomainError::AccountLocked.into());
        }
        if !secret::verify_password(password, hash).await {
            let sql = crate::staff::count_failure_sql("counter", "failed_logins");
            db.execute(
                query(&sql).bind(&id).bind(MAX_FAILED_LOGINS).bind(now.0).bind(now.plus_minutes(LOCKOUT_MINUTES).0),
            )
            .await?;
            return Err(DomainError::InvalidCredentials.into());
        }
        db.execute(query("UPDATE counter SET failed_logins = 0, locked_until = NULL WHERE id = $1").bind(&id)).await?;
        let token = random.token();
        let expires_at = now.plus_minutes(SESSION_HOURS * 60);
        db.execute(
            query(
                "INSERT INTO counter_session (token_hash, counter_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash(token.expose()))
            .bind(&id)
            .bind(now.0)
            .bind(expires_at.0),
        )
        .await?;
        Ok(NewSession { token, expires_at })
    }

    /// The counter of a live session, while the counter and its party are active.
    pub async fn current(db: &Db, token: &str, now: Millis) -> Result<Option<CounterCaller>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| session_select("", "", "$1", "$2"));
        Ok(db.fetch_optional(query(SQL.as_str()).bind(token_hash(token)).bind(now.0).point_read()).await?)
    }

    /// The read of a live counter session ([`current`]) as text, for statements that read it
    /// with more: its columns (`counter_id`, `counter_name`, `party_id`, `party_name`,
    /// `window_start`, `window_failures`, read by [`CounterCaller`]'s `FromRow`) and then
    /// `more_columns`; `join` after its own joins; `token` and `now` name the placeholders of the
    /// session token's hash and the time.
    pub(crate) fn session_select(more_columns: &str, join: &str, token: &str, now: &str) -> String {
        format!(
            "SELECT k.id AS counter_id, k.name AS counter_name, p.id AS party_id, p.name AS party_name, \
             k.window_start, k.window_failures{more_columns} \
             FROM counter_session s JOIN counter k ON k.id = s.counter_id \
             JOIN relying_party p ON p.id = k.party_id{join} \
             WHERE s.token_hash = {token} AND s.ended_at IS NULL AND s.expires_at > {now} \
             AND k.status = 'active' AND p.status = 'active'"
        )
    }

    impl crate::store::FromRow for CounterCaller {
        fn from_row(row: &mut crate::store::Row<'_>) -> std::result::Result<Self, sqlx::Error> {
            Ok(CounterCaller {
                counter_id: row.named("counter_id")?,
                counter_name: row.named("counter_name")?,
                party_id: row.named("party_id")?,
                party_name: row.named("party_name")?,
                window: CheckWindow { start: row.named("window_start")?, failures: row.named("window_failures")? },
            })
        }
    }

    pub async fn sign_out(db: &Db, token: &str, now: Millis) -> Result<()> {
        db.execute(
            query("UPDATE counter_session SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL")
                .bind(now.0)
                .bind(token_hash(token)),
        )
        .await?;
        Ok(())
    }

    /// An authenticated relying party (an application system calling the API).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Client {
        pub party_id: String,
        pub name: String,
        pub redirect_uris: Vec<String>,
    }

    /// The active party `client_id`, without checking its secret (for the OpenID Connect
    /// authorization request, which carries no secret).
    pub async fn client(db: &Db, client_id: &str) -> Result<Option<Client>> {
        let row: Option<(String, String, String)> = db
            .fetch_optional(
                query("SELECT id, name, redirect_uris FROM relying_party WHERE id = $1 AND status = 'active'")
                    .bind(client_id),
            )
            .await?;
        Ok(row.map(|(party_id, name, redirects)| Client { party_id, name, redirect_uris: redirect_lines(&redirects) }))
    }

    /// Checks a client id and secret; the secret is a 256-bit random value, so its SHA-256 is
    /// compared (in constant time) rather than a slow password hash.
    pub async fn authenticate(db: &Db, client_id: &str, client_secret: &str) -> Result<Client> {
        let row: Option<(String, String, String, String)> = db.fetch_optional(query("SELECT id, name, redirect_uris, client_secret_hash FROM relying_party WHERE id = $1 AND status = 'active'").bind(client_id)).await?;
        match row {
            Some((party_id, name, redirects, hash)) if constant_time_eq(&hash, &token_hash(client_secret)) => {
                Ok(Client { party_id, name, redirect_uris: redirect_lines(&redirects) })
            }
            _ => Err(DomainError::InvalidCredentials.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_https_or_loopback_http() {
        assert!(check_redirect_uri("https://rp.example.cn/callback"));
        assert!(check_redirect_uri("https://rp.example.cn:8443/cb?x=1"));
        assert!(check_redirect_uri("http://127.0.0.1:8080/callback"));
        assert!(check_redirect_uri("http://localhost/callback"));
        assert!(!check_redirect_uri("http://rp.example.cn/callback"), "plain http off loopback");
        assert!(!check_redirect_uri("https://rp.example.cn/cb#frag"), "fragment");
        assert!(!check_redirect_uri("https://evil@rp.example.cn/cb"), "user info");
        assert!(!check_redirect_uri("/callback"), "relative");
        assert!(!check_redirect_uri("javascript://x"), "other scheme");
        assert!(!check_redirect_uri("https:///cb"), "no host");
    }

    #[test]
    fn redirect_lines_drop_blanks() {
        assert_eq!(redirect_lines(" https://a/cb \n\n https://b/cb\n"), vec!["https://a/cb", "https://b/cb"]);
    }
}
