//! Issue 14 §1: a stolen dashboard session reads, it cannot grant powers. Every dashboard write
//! that gives, shows or takes a power (adding a manager or user, showing a face-to-face code,
//! removing a holder, adding or cancelling a grant) needs a fresh approval on the signed-in
//! holder's own phone, naming that exact action.
//!
//! The dashboard asks for an approval of an [`Action`]: the platform keeps the action's digest
//! and a masked summary (never the personal data in clear), bound to the dashboard session, and
//! shows a QR. The holder's wallet scans it (only the session's own holder may), shows the
//! summary, and approves with the certificate password and a device signature over the code and
//! the digest. The dashboard, polling, then sends the write with the approval's id; the write
//! takes the approval once, for that session and that very action (the digest of what it is
//! asked to do now), before anything is written.
//!
//! States: waiting → scanned → approved → taken, or rejected; expired after 5 minutes.

use serde::{Deserialize, Serialize};

use crate::holder::{GrantInput, Role};

/// Life of an approval request, in minutes: from asking to taking.
pub const APPROVAL_MINUTES: i64 = 5;

/// A dashboard write that needs the holder's phone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// R3, R6: a new manager, or a new user with a first grant.
    AddHolder {
        role: Role,
        name: String,
        id_number: String,
        mobile: String,
        grant: Option<GrantInput>,
    },
    /// R4: the face-to-face code of a pending holder.
    AuthorizeCode {
        holder_id: String,
    },
    /// R19: the re-download code of an active holder's new phone (the old one stops).
    RedownloadCode {
        holder_id: String,
    },
    /// R8.
    RemoveHolder {
        holder_id: String,
    },
    /// R6.
    AddGrant {
        holder_id: String,
        grant: GrantInput,
    },
    CancelGrant {
        grant_id: String,
    },
    /// R17: a fresh grant QR for a grant its user has not received yet.
    GrantCode {
        grant_id: String,
    },
    /// The first manager gives a manager the right to authorize users, or withdraws it.
    SetMayAuthorize {
        holder_id: String,
        allowed: bool,
    },
    /// R23: file a registration business; `digest` is the SHA-256 of the document the platform
    /// made of the form (`filing::prepare`), shown on both screens.
    SubmitFiling {
        form: crate::filing::FilingForm,
        digest: String,
    },
}

#[cfg(feature = "server")]
impl Action {
    /// The action with its text fields as the write reads them (trimmed), so that the digest
    /// does not depend on stray spaces.
    fn normalized(&self) -> Action {
        let grant = |g: &GrantInput| GrantInput {
            matter_ids: {
                let mut ids: Vec<String> = g.matter_ids.iter().map(|m| m.trim().to_owned()).collect();
                ids.sort();
                ids.dedup();
                ids
            },
            start_day: g.start_day.trim().to_owned(),
            end_day: g.end_day.trim().to_owned(),
        };
        match self {
            Action::AddHolder { role, name, id_number, mobile, grant: g } => Action::AddHolder {
                role: *role,
                name: name.trim().to_owned(),
                id_number: id_number.trim().to_uppercase(),
                mobile: mobile.trim().to_owned(),
                // Only a user is added with a grant; the write ignores any other's, and a user
                // with no matters chosen is added without one (R17).
                grant: g.as_ref().filter(|g| *role == Role::User && !g.is_empty()).map(grant),
            },
            Action::AuthorizeCode { holder_id } => Action::AuthorizeCode { holder_id: holder_id.trim().to_owned() },
            Action::RemoveHolder { holder_id } => Action::RemoveHolder { holder_id: holder_id.trim().to_owned() },
            Action::RedownloadCode { holder_id } => Action::RedownloadCode { holder_id: holder_id.trim().to_owned() },
            Action::AddGrant { holder_id, grant: g } => {
                Action::AddGrant { holder_id: holder_id.trim().to_owned(), grant: grant(g) }
            }
            Action::CancelGrant { grant_id } => Action::CancelGrant { grant_id: grant_id.trim().to_owned() },
            Action::GrantCode { grant_id } => Action::GrantCode { grant_id: grant_id.trim().to_owned() },
            Action::SetMayAuthorize { holder_id, allowed } => {
                Action::SetMayAuthorize { holder_id: holder_id.trim().to_owned(), allowed: *allowed }
            }
            Action::SubmitFiling { form, digest } => {
                Action::SubmitFiling { form: form.normalized(), digest: digest.trim().to_owned() }
            }
        }
    }

    /// The normalized action's JSON under the data key's MAC, base64url: what the phone signs
    /// and the row keeps. Keyed, so that someone who reads the database cannot test guesses of
    /// the names and ID numbers an action carries against it.
    pub fn digest(&self, vault: &crate::seal::Vault) -> String {
        let json = serde_json::to_vec(&self.normalized()).unwrap_or_default();
        vault.mac("ecert/approval", &json)
    }
}

/// The subject a device signs to approve or reject: the approval's code and the action's digest.
pub fn approve_subject(code: &str, digest: &str) -> String {
    format!("{}\n{digest}", code.trim())
}

/// Where an approval stands, as the dashboard polls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    Waiting,
    Scanned,
    Approved,
    Rejected,
    Expired,
    /// Taken by its write, or not this session's.
    Unknown,
}

/// What the phone shows of an approval: what the dashboard asks to do, in both languages, and
/// the digest the device signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPrompt {
    pub summary_zh: String,
    pub summary_en: String,
    pub digest: String,
    /// The two-digit codes to offer, the dashboard's among them, in the order to show them
    /// (issue 14 §1: the holder proves they see the dashboard). Empty for a request asked
    /// before approvals had match codes.
    pub match_choices: Vec<String>,
    pub institution_name: String,
    pub requested_from: Option<String>,
    pub requested_at: i64,
    /// The dashboard's browser and the phone are on different networks: the phone warns.
    pub network_differs: bool,
    pub expires_at: i64,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::device::{self, action};
    use crate::error::{DomainError, Result};
    use crate::holder::{self, Caller, HolderView};
    use crate::login::{Approval, Requester, changes, scanning};
    use crate::secret::{Random, Secret, token_hash};
    use crate::store::{Db, Tx, query};
    use crate::time::Millis;

    /// A new approval request: its id (the dashboard polls and writes with it), the code for
    /// the QR (shown once) and the summary the phone will show.
    #[derive(Debug)]
    pub struct Asked {
        pub id: String,
        pub code: Secret,
        /// The match code the dashboard shows beside the QR.
        pub match_code: String,
        pub summary_zh: String,
        pub summary_en: String,
        pub expires_at: Millis,
    }

    /// The dashboard session of `caller` asks to do `act`. The summary names the people and
    /// matters the action is about, masked (R16); a holder or grant the caller may not see (R7)
    /// is `NotFound` here already. Only a session asks: the phone itself needs no approval.
    pub async fn ask(
        db: &Db,
        caller: &Caller,
        act: &Action,
        requester: &Requester,
        now: Millis,
        random: &Random,
    ) -> Result<Asked> {
        let step_up = caller.step_up().ok_or(DomainError::Forbidden)?;
        let act = act.normalized();
        holder::preflight(db, caller, &act, now).await?;
        let (summary_zh, summary_en) = summary(db, caller, &act, now).await?;
        let id = random.id();
        let code = random.token();
        let (match_code, choices) = crate::login::match_codes(random);
        let expires_at = now.plus_minutes(APPROVAL_MINUTES);
        db.execute(
            query(
                "INSERT INTO approval_request (id, code_hash, session_hash, holder_id, digest, summary_zh, summary_en, \
                 status, requester_ip, created_at, expires_at, updated_at, match_code, match_choices) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'waiting', $8, $9, $10, $9, $11, $12)",
            )
            .bind(&id)
            .bind(token_hash(code.expose()))
            .bind(&step_up.session_hash)
            .bind(&caller.holder_id)
            .bind(act.digest(db.vault()))
            .bind(&summary_zh)
            .bind(&summary_en)
            .bind(&requester.ip)
            .bind(now.0)
            .bind(expires_at.0)
            .bind(&match_code)
            .bind(choices.join(" ")),
        )
        .await?;
        Ok(Asked { id, code, match_code, summary_zh, summary_en, expires_at })
    }

    /// The masked, human summary of an action, in Chinese and English.
    async fn summary(db: &Db, caller: &Caller, act: &Action, now: Millis) -> Result<(String, String)> {
        let role_names = |role: Role| match role {
            Role::FirstManager => ("第一管理责任人", "first manager"),
            Role::Manager => ("管理人", "manager"),
            Role::User => ("使用人", "user"),
        };
        let catalogue = holder::catalogue(db, &caller.authority_id).await?;
        let matters = |g: &GrantInput| {
            let names: Vec<(&str, &str)> = g
                .matter_ids
                .iter()
                .map(|id| {
                    catalogue
                        .iter()
                        .find(|m| m.id == *id)
                        .map_or((id.as_str(), id.as_str()), |m| (m.name_zh.as_str(), m.name_en.as_str()))
                })
                .collect();
            let zh = names.iter().map(|n| n.0).collect::<Vec<_>>().join("、");
            let en = names.iter().map(|n| n.1).collect::<Vec<_>>().join(", ");
            (format!("{zh}（{} 至 {}）", g.start_day, g.end_day), format!("{en} ({} to {})", g.start_day, g.end_day))
        };
        let visible = || async { holder::list(db, caller, now).await };
        let find_holder = |list: &[HolderView], id: &str| -> Result<HolderView> {
            list.iter().find(|h| h.id == id).cloned().ok_or_else(|| DomainError::NotFound.into())
        };
        Ok(match act {
            Action::AddHolder { role, name, id_number, mobile, grant } => {
                let (zh_role, en_role) = role_names(*role);
                let who = format!(
                    "{}（{}，{}）",
                    crate::mask::person_name(name),
                    crate::mask::id_number(id_number),
                    crate::mask::mobile(mobile)
                );
                let (mut zh, mut en) = (format!("添加{zh_role}：{who}"), format!("Add a {en_role}: {who}"));
                if let Some(g) = grant {
                    let (gz, ge) = matters(g);
                    zh.push_str(&format!("，授权事项：{gz}"));
                    en.push_str(&format!("; matters: {ge}"));
                }
                (zh, en)
            }
            Action::AuthorizeCode { holder_id } => {
                let h = find_holder(&visible().await?, holder_id)?;
                let (zh_role, en_role) = role_names(h.role);
                (
                    format!("显示{zh_role} {} 的当面授权二维码", h.name),
                    format!("Show the face-to-face code of {en_role} {}", h.name),
                )
            }
            Action::RedownloadCode { holder_id } => {
                let h = find_holder(&visible().await?, holder_id)?;
                let (zh_role, en_role) = role_names(h.role);
                (
                    format!("为{zh_role} {} 补办证书到新手机（原手机立即停用）", h.name),
                    format!("Move {en_role} {}'s certificate to a new phone (the old phone stops at once)", h.name),
                )
            }
            Action::RemoveHolder { holder_id } => {
                let h = find_holder(&visible().await?, holder_id)?;
                let (zh_role, en_role) = role_names(h.role);
                (
                    format!("移除{zh_role} {}（{}）", h.name, h.id_number),
                    format!("Remove {en_role} {} ({})", h.name, h.id_number),
                )
            }
            Action::AddGrant { holder_id, grant } => {
                let h = find_holder(&visible().await?, holder_id)?;
                let (gz, ge) = matters(grant);
                (format!("为使用人 {} 新增授权：{gz}", h.name), format!("Grant user {}: {ge}", h.name))
            }
            Action::GrantCode { grant_id } => {
                let list = visible().await?;
                let (h, g) = list
                    .iter()
                    .find_map(|h| h.grants.iter().find(|g| g.id == *grant_id).map(|g| (h, g)))
                    .ok_or(DomainError::NotFound)?;
                let zh = g.matters.iter().map(|m| m.name_zh.as_str()).collect::<Vec<_>>().join("、");
                let en = g.matters.iter().map(|m| m.name_en.as_str()).collect::<Vec<_>>().join(", ");
                (
                    format!("显示使用人 {} 的授权二维码：{zh}（{} 至 {}）", h.name, g.start_day, g.end_day),
                    format!("Show user {}'s grant QR: {en} ({} to {})", h.name, g.start_day, g.end_day),
                )
            }
            Action::SetMayAuthorize { holder_id, allowed } => {
                let h = find_holder(&visible().await?, holder_id)?;
                if *allowed {
                    (format!("授予管理人 {} 使用人授权权限", h.name), format!("Let manager {} authorize users", h.name))
                } else {
                    (
                        format!("收回管理人 {} 的使用人授权权限", h.name),
                        format!("Withdraw manager {}'s right to authorize users", h.name),
                    )
                }
            }
            Action::SubmitFiling { form, digest } => {
                let prepared = crate::filing::preflight(db, caller, form, digest, now).await?;
                let kind = form.kind();
                let year = match form {
                    crate::filing::FilingForm::AnnualReport(r) => {
                        (format!("（{}年度）", r.year), format!(" ({})", r.year))
                    }
                    _ => (String::new(), String::new()),
                };
                let name = &prepared.document.institution_name;
                let hex = &prepared.digest_hex;
                let (what_zh, what_en) = crate::filing::what_changes(&prepared.document.form);
                (
                    format!("签署并提交{}{}：{name}{what_zh}，文件摘要 {hex}", kind.label(crate::Lang::Zh), year.0),
                    format!(
                        "Sign and file the {}{} of {name}{what_en}; document digest {hex}",
                        kind.label(crate::Lang::En).to_lowercase(),
                        year.1
                    ),
                )
            }
            Action::CancelGrant { grant_id } => {
                let list = visible().await?;
                let (h, g) = list
                    .iter()
                    .find_map(|h| h.grants.iter().find(|g| g.id == *grant_id).map(|g| (h, g)))
                    .ok_or(DomainError::NotFound)?;
                let zh = g.matters.iter().map(|m| m.name_zh.as_str()).collect::<Vec<_>>().join("、");
                let en = g.matters.iter().map(|m| m.name_en.as_str()).collect::<Vec<_>>().join(", ");
                (
                    format!("取消使用人 {} 的授权：{zh}（{} 至 {}）", h.name, g.start_day, g.end_day),
                    format!("Cancel user {}'s grant: {en} ({} to {})", h.name, g.start_day, g.end_day),
                )
            }
        })
    }

    struct Row {
        id: String,
        holder_id: String,
        digest: String,
        summary_zh: String,
        summary_en: String,
        requester_ip: Option<String>,
        created_at: i64,
        match_code: Option<String>,
        match_choices: Option<String>,
        progress: scanning::Progress,
    }
    crate::store::from_row!(Row { id, holder_id, digest, summary_zh, summary_en, requester_ip, created_at, match_code, match_choices } flatten { progress });

    const SELECT: &str = "SELECT id, holder_id, digest, summary_zh, summary_en, requester_ip, created_at, match_code, \
         match_choices, status, device_id, expires_at FROM approval_request WHERE code_hash = $1";

    /// The dashboard polls its approval: one read by primary key, for the session that asked only.
    pub async fn poll(db: &Db, caller: &Caller, id: &str, now: Millis) -> Result<ApprovalState> {
        Ok(read(db, caller, id, now).await?.0)
    }

    /// The state of the approval `id` for `caller`'s session, and when it expires.
    async fn read(db: &Db, caller: &Caller, id: &str, now: Millis) -> Result<(ApprovalState, i64)> {
        let Some(step_up) = caller.step_up() else { return Ok((ApprovalState::Unknown, now.0)) };
        let row: Option<(String, i64)> = db
            .fetch_optional(
                query("SELECT status, expires_at FROM approval_request WHERE id = $1 AND session_hash = $2")
                    .bind(id)
                    .bind(&step_up.session_hash)
                    .point_read(),
            )
            .await?;
        Ok(match row {
            None => (ApprovalState::Unknown, now.0),
            Some((status, expires_at)) => (
                match status.as_str() {
                    "taken" => ApprovalState::Unknown,
                    "rejected" => ApprovalState::Rejected,
                    _ if expires_at <= now.0 => ApprovalState::Expired,
                    "approved" => ApprovalState::Approved,
                    "scanned" => ApprovalState::Scanned,
                    _ => ApprovalState::Waiting,
                },
                expires_at,
            ),
        })
    }

    /// The dashboard's long poll of its approval (issue 17 §2, as the scan login's
    /// [`changes::wait_for_change`]): waits until the approval `id` of `caller`'s session is no
    /// longer `seen`, it expired, or `patience` ran out, and answers the state read last, as
    /// [`poll`] would. `None`: it did not wait (`seen` is final, too many wait, the server is
    /// stopping); the caller polls. Another session's approval reads `unknown` at once.
    pub async fn wait_for_change(
        db: &Db,
        caller: &Caller,
        id: &str,
        seen: ApprovalState,
        patience: changes::Patience,
    ) -> Result<Option<ApprovalState>> {
        if !matches!(seen, ApprovalState::Waiting | ApprovalState::Scanned) {
            return Ok(None);
        }
        changes::wait_while(&changes::approval_key(id), seen, patience, |now| read(db, caller, id, now)).await
    }

    /// The wallet scanned an approval QR. Only the phone of the holder signed in to that
    /// dashboard session may: anyone else's is `Forbidden`, and the request stays waiting.
    /// `phone_ip` is the phone's own address, to warn when the dashboard is elsewhere.
    pub async fn scan(
        db: &Db,
        code: &str,
        device_id: &str,
        signature: &str,
        phone_ip: Option<&str>,
        now: Millis,
    ) -> Result<ApprovalPrompt> {
        let bound =
            device::signed(db, device_id, &device::message(action::APPROVAL_SCAN, code.trim()), signature, now).await?;
        let mut tx = db.begin_write().await?;
        let row: Row = scanning::by_code(&mut tx, SELECT, "approval_request", code).await?;
        scanning::open_for(&row.progress, device_id, now)?;
        if row.holder_id != bound.holder_id {
            return Err(DomainError::Forbidden.into());
        }
        scanning::mark_scanned(&mut tx, "approval_request", &row.id, &bound.holder_id, device_id, now).await?;
        let institution_name = scanning::institution_name(&mut tx, &bound.certificate_id).await?;
        let key = changes::approval_key(&row.id);
        changes::announce(&mut tx, &key).await?;
        tx.commit().await?;
        changes::moved(db, &key);
        Ok(ApprovalPrompt {
            summary_zh: row.summary_zh,
            summary_en: row.summary_en,
            digest: row.digest,
            match_choices: row.match_choices.map(|c| c.split(' ').map(str::to_owned).collect()).unwrap_or_default(),
            institution_name,
            network_differs: crate::login::requester::networks_differ(row.requester_ip.as_deref(), phone_ip),
            requested_from: row.requester_ip,
            requested_at: row.created_at,
            expires_at: row.progress.expires_at,
        })
    }

    /// The holder approves (an [`Approval`]: the certificate password and the match code picked
    /// on the phone) or rejects an approval its phone scanned; either way the device signs
    /// [`approve_subject`], the code and the digest. A picked code that is not the dashboard's
    /// ends the request like a rejection, before any password is tried: `MatchCodeWrong`.
    pub async fn answer(
        db: &Db,
        code: &str,
        device_id: &str,
        signature: &str,
        approve: Option<Approval>,
        now: Millis,
    ) -> Result<()> {
        if let Some(a) = &approve {
            a.check_filled()?;
        }
        let row: Option<Row> = db.fetch_optional(query(SELECT).bind(token_hash(code.trim()))).await?;
        let row = row.ok_or(DomainError::CodeInvalid)?;
        let act = if approve.is_some() { action::APPROVAL_APPROVE } else { action::APPROVAL_REJECT };
        device::signed(db, device_id, &device::message(act, &approve_subject(code, &row.digest)), signature, now)
            .await?;
        scanning::answerable(&row.progress, device_id, now)?;
        // A request asked before approvals had match codes has none to compare.
        let matched = match (&approve, &row.match_code) {
            (Some(a), Some(expected)) => crate::secret::constant_time_eq(a.match_code.trim(), expected),
            _ => true,
        };
        if let (Some(a), true) = (&approve, matched) {
            device::check_password(db, device_id, a.password.clone()).await?;
        }
        let mut tx = db.begin_write().await?;
        let row: Row = scanning::by_code(&mut tx, SELECT, "approval_request", code).await?;
        scanning::answerable(&row.progress, device_id, now)?;
        let status = if approve.is_some() && matched { "approved" } else { "rejected" };
        scanning::answer(&mut tx, "approval_request", &row.id, device_id, status, now).await?;
        if status == "approved" {
            // What the phone signed, kept for the write that takes the approval (R23: a filing
            // keeps it as its signature).
            let message = device::message(act, &approve_subject(code, &row.digest));
            tx.execute(
                query(
                    "UPDATE approval_request SET answer_message = $1, answer_signature = $2, answered_at = $3 WHERE id = $4",
                )
                .bind(&message)
                .bind(signature.trim())
                .bind(now.0)
                .bind(&row.id),
            )
            .await?;
        }
        let key = changes::approval_key(&row.id);
        changes::announce(&mut tx, &key).await?;
        tx.commit().await?;
        changes::moved(db, &key);
        if matched { Ok(()) } else { Err(DomainError::MatchCodeWrong.into()) }
    }

    /// Inside the write of `act`, after the caller and the target were checked: a dashboard
    /// session's caller takes the approval it brings, once, only if approved, unexpired, asked
    /// by this very session and for this very action; else `ApprovalRequired` and the write
    /// rolls back. A caller that is no session (the holder's own phone) needs none.
    pub(crate) async fn take_in(tx: &mut Tx, caller: &Caller, act: &Action, now: Millis) -> Result<()> {
        take_signed_in(tx, caller, act, now).await.map(|_| ())
    }

    /// The phone's signature of an approval: the device, the message it signed, the signature
    /// and when it answered.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(crate) struct Signed {
        pub(crate) device_id: String,
        pub(crate) message: String,
        pub(crate) signature: String,
        pub(crate) signed_at: i64,
    }

    /// [`take_in`], answering the phone's signature of the approval taken (`None` for a caller
    /// that is the phone itself, whose request was signed on its own).
    pub(crate) async fn take_signed_in(
        tx: &mut Tx,
        caller: &Caller,
        act: &Action,
        now: Millis,
    ) -> Result<Option<Signed>> {
        let step_up = match &caller.via {
            holder::Via::Phone(_) => return Ok(None),
            holder::Via::Session(step_up) => step_up,
        };
        let id = step_up.approval_id.as_deref().ok_or(DomainError::ApprovalRequired)?;
        // The session must still be live now, inside the write: ended from the wallet or signed
        // out a moment ago, it takes nothing.
        let n = tx
            .execute(
                query(
                    "UPDATE approval_request SET status = 'taken', updated_at = $1 WHERE id = $2 AND session_hash = $3 \
                     AND holder_id = $4 AND digest = $5 AND status = 'approved' AND expires_at > $1 \
                     AND EXISTS (SELECT 1 FROM holder_session s WHERE s.token_hash = $3 AND s.ended_at IS NULL \
                     AND s.expires_at > $1)",
                )
                .bind(now.0)
                .bind(id.trim())
                .bind(&step_up.session_hash)
                .bind(&caller.holder_id)
                .bind(act.digest(tx.vault())),
            )
            .await?;
        if n != 1 {
            return Err(DomainError::ApprovalRequired.into());
        }
        let row: (Option<String>, Option<String>, Option<String>, Option<i64>) = tx
            .fetch_one(
                query("SELECT device_id, answer_message, answer_signature, answered_at FROM approval_request WHERE id = $1")
                    .bind(id.trim()),
            )
            .await?;
        Ok(match row {
            (Some(device_id), Some(message), Some(signature), Some(signed_at)) => {
                Some(Signed { device_id, message, signature, signed_at })
            }
            _ => None,
        })
    }
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::*;

    #[test]
    fn the_digest_names_the_exact_action_under_the_data_key() {
        let vault = crate::seal::Vault::from_key(&[5; 32]);
        let grant = GrantInput {
            matter_ids: vec!["b".into(), "a".into()],
            start_day: "2026-12-01".into(),
            end_day: "2026-12-31".into(),
        };
        let a = Action::AddGrant { holder_id: "h1".into(), grant: grant.clone() };
        let spaced = Action::AddGrant {
            holder_id: " h1 ".into(),
            grant: GrantInput { matter_ids: vec!["a".into(), "b".into(), "a".into()], ..grant.clone() },
        };
        assert_eq!(a.digest(&vault), spaced.digest(&vault), "order, repeats and spaces do not matter");
        let longer =
            Action::AddGrant { holder_id: "h1".into(), grant: GrantInput { end_day: "2027-12-31".into(), ..grant } };
        assert_ne!(a.digest(&vault), longer.digest(&vault), "a longer period is another action");
        assert_ne!(
            Action::RemoveHolder { holder_id: "h1".into() }.digest(&vault),
            Action::AuthorizeCode { holder_id: "h1".into() }.digest(&vault)
        );
        assert_eq!(a.digest(&vault).len(), 43);
        let other = crate::seal::Vault::from_key(&[6; 32]);
        assert_ne!(a.digest(&vault), a.digest(&other), "only the data key's holder can compute it");
    }
}
