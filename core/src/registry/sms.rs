//! R13: unlocking and resetting a certificate password with an SMS code sent to the holder's
//! registered mobile. Codes are 6 digits, live 5 minutes, allow 5 tries, and sending is
//! rate-limited (one a minute, five an hour per holder). Messages are queued with the code and
//! delivered through an SMS-gateway adapter — an operator's HTTP gateway, retried with backoff,
//! or in development an outbox that staff read in the console (issue 16 §6).

use serde::{Deserialize, Serialize};

pub const CODE_MINUTES: i64 = 5;
/// Digits of an SMS code.
pub const CODE_DIGITS: usize = 6;
pub const CODE_TRIES: i64 = 5;
pub const MIN_INTERVAL_SECONDS: i64 = 60;
pub const PER_HOUR: i64 = 5;

crate::text_enum! {
    /// The kinds of message the platform sends, each with a template at an HTTP gateway.
    pub enum SmsKind {
        /// R13: the code that resets a certificate password.
        PasswordReset = "password_reset",
        /// R19: the code that takes a role up on a new phone with a re-download code.
        Redownload = "redownload",
        /// Issue 18 §1: the code an establishment applicant signs in with.
        ApplicantSignIn = "applicant_sign_in",
    }
}

crate::text_enum! {
    /// Where a queued message stands.
    pub enum DeliveryStatus {
        /// Waiting for its first or next attempt.
        Queued = "queued",
        Sent = "sent",
        /// Given up: every attempt failed or its content expired.
        Failed = "failed",
    }
}

/// A message of the queue as staff see it: no content (it holds a live code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub mobile: String,
    pub kind: SmsKind,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// The gateway's last answer or the transport's error, code-like numbers masked.
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// A message of the development gateway's outbox, as staff see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub mobile: String,
    pub body: String,
    pub created_at: i64,
}

/// A text with every digit masked (ASCII, full-width or any other): what staff may read of an SMS
/// gateway's answer, which may echo a mobile or a code in any form (R16).
pub fn mask_digits(text: &str) -> String {
    text.chars().map(|c| if c.is_numeric() { '*' } else { c }).collect()
}

/// A message with every run of digits as long as an SMS code (or longer) masked: what staff may
/// read of the development outbox in production.
pub fn mask_codes(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= CODE_DIGITS {
            out.extend(std::iter::repeat_n('*', run.chars().count()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in body.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::device::{self, action};
    use crate::error::{DomainError, Result};
    use crate::mask;
    use crate::records::{self, Actor, ChangeKind};
    use crate::seal::Column;
    use crate::secret::{Random, Secret, constant_time_eq, token_hash};
    use crate::staff::StaffView;
    use crate::store::{Db, Tx, query};
    use crate::time::Millis;

    /// Where SMS messages go. Every message is first written to the queue (`sms_message`) in the
    /// transaction that makes its content, then delivered after the commit: at once, and again
    /// with backoff by [`deliver_due`] until the gateway takes it, [`MAX_ATTEMPTS`] are spent
    /// or its content expires. Staff read the queue without the content ([`deliveries`]).
    #[derive(Clone, Debug, Default)]
    pub enum SmsGateway {
        /// Development: delivered into the `sms_outbox` table, readable by the authority's staff.
        #[default]
        Outbox,
        /// An operator's SMS gateway over HTTP (issue 16 §6).
        Http(HttpSms),
    }

    /// The HTTP adapter's settings: `POST {url}` with the JSON body
    /// `{"id": "…", "mobile": "138…", "template": "<template id of the kind>", "params": {…}}`,
    /// signed in the header `X-Ecert-Signature: t=<epoch ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    /// A `2xx` answer is delivery; anything else, or no answer within `timeout`, is a failure
    /// tried again later.
    #[derive(Clone, Debug)]
    pub struct HttpSms {
        pub url: String,
        pub timeout: std::time::Duration,
        /// The gateway's template id of each kind of message.
        pub templates: Vec<(SmsKind, String)>,
        pub secret: Secret,
    }

    impl HttpSms {
        /// The template of `kind`, or `None` when the settings name none.
        pub fn template(&self, kind: SmsKind) -> Option<&str> {
            self.templates.iter().find(|(k, _)| *k == kind).map(|(_, t)| t.as_str())
        }

        /// The signature header's value for `body` sent at `now`.
        pub fn signature(&self, body: &str, now: Millis) -> String {
            signature_header(self.secret.expose(), body, now)
        }
    }

    /// `t=<now>,v1=<hex HMAC-SHA256(secret, "<now>.<body>")>`: what a gateway checks to know the
    /// message is the platform's and fresh.
    pub fn signature_header(secret: &str, body: &str, now: Millis) -> String {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(format!("{}.{body}", now.0).as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("t={},v1={}", now.0, crate::crypto::hex(&tag))
    }

    /// How often a running server delivers the queued messages that are due.
    pub const DELIVER_EVERY_SECONDS: u64 = 5;
    /// Attempts of one message before it is given up.
    pub const MAX_ATTEMPTS: i64 = 5;
    /// How long an attempt holds a message beyond the gateway's timeout (another app server
    /// leaves it alone meanwhile).
    const LEASE_MARGIN_SECONDS: i64 = 15;

    /// The wait before attempt `n + 1` after `n` failed ones: 5 s, 15 s, 45 s, 135 s.
    pub fn backoff(attempts: i64) -> i64 {
        5 * Millis::SECOND * 3_i64.pow(u32::try_from(attempts.clamp(1, 6) - 1).unwrap_or(0))
    }

    /// After the `attempts`-th attempt failed at `now`: when to try next, or `None` to give up —
    /// after [`MAX_ATTEMPTS`], or when the next try would come after the content expired.
    pub fn after_failure(attempts: i64, now: Millis, expires_at: i64) -> Option<i64> {
        let next = now.0.saturating_add(backoff(attempts));
        (attempts < MAX_ATTEMPTS && next < expires_at).then_some(next)
    }

    /// Queues a message to `mobile` inside the caller's transaction; answers its id, for
    /// [`SmsGateway::deliver`] after the commit. `params` hold what the template fills in.
    /// `code_id` names the `sms_code` the message carries: once that code is replaced or used,
    /// the message is not sent any more.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn enqueue(
        tx: &mut Tx,
        authority_id: &str,
        (kind, code_id): (SmsKind, Option<&str>),
        mobile: &str,
        params: &serde_json::Value,
        expires_at: Millis,
        now: Millis,
        random: &Random,
    ) -> Result<String> {
        let id = random.id();
        let mobile = tx.vault().seal(Column::SmsMobile.at(&id), mobile);
        let params = tx.vault().seal(Column::SmsParams.at(&id), &params.to_string());
        tx.execute(query("INSERT INTO sms_message (id, authority_id, kind, code_id, mobile, params, status, attempts, next_attempt_at, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $7, $8)").bind(&id).bind(authority_id).bind(kind).bind(code_id).bind(&mobile).bind(&params).bind(now.0).bind(expires_at.0)).await?;
        Ok(id)
    }

    /// The text of a message as the development outbox shows it (an HTTP gateway fills its own
    /// template instead).
    fn body_of(kind: SmsKind, params: &serde_json::Value) -> String {
        let get = |key: &str| params.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        match kind {
            SmsKind::PasswordReset => format!(
                "【事业单位法人电子证书】您正在重置证书密码，验证码{}，{}分钟内有效。如非本人操作，请忽略。",
                get("code"),
                get("minutes")
            ),
            SmsKind::Redownload => format!(
                "【事业单位法人电子证书】您正在将证书补办到新手机，验证码{}，{}分钟内有效。原手机已停用；如非本人申请，请勿告知他人并联系单位管理人。",
                get("code"),
                get("minutes")
            ),
            SmsKind::ApplicantSignIn => format!(
                "【事业单位法人电子证书】您正在登录事业单位设立登记，验证码{}，{}分钟内有效。如非本人操作，请忽略。",
                get("code"),
                get("minutes")
            ),
        }
    }

    impl SmsGateway {
        /// How long an attempt holds its message: the gateway's timeout and a margin, so no
        /// other app server takes it while this one may still be waiting for an answer.
        fn lease(&self) -> i64 {
            let waits = match self {
                SmsGateway::Outbox => 0,
                SmsGateway::Http(http) => i64::try_from(http.timeout.as_millis()).unwrap_or(i64::MAX / 2),
            };
            waits.saturating_add(LEASE_MARGIN_SECONDS * Millis::SECOND)
        }

        /// One attempt at the message `id` if it is queued and due (a lease is taken first, so
        /// two app servers never send it at once; what the attempt writes afterwards applies only
        /// while it still holds that lease). A message whose code expired, was replaced by a newer
        /// one or was used is given up without being sent. Failures are recorded for the next
        /// attempt; only the database's own errors are returned.
        pub async fn deliver(&self, db: &Db, id: &str, now: Millis) -> Result<()> {
            type Taken = (String, String, SmsKind, Option<String>, String, String, i64, i64);
            let taken: Option<Taken> = db
                .fetch_optional(
                    query(
                        "UPDATE sms_message SET attempts = attempts + 1, next_attempt_at = $3 \
                         WHERE id = $1 AND status = 'queued' AND next_attempt_at <= $2 \
                         RETURNING id, authority_id, kind, code_id, mobile, params, attempts, expires_at",
                    )
                    .bind(id)
                    .bind(now.0)
                    .bind(now.0.saturating_add(self.lease())),
                )
                .await?;
            let Some((id, authority_id, kind, code_id, mobile, params, attempts, expires_at)) = taken else {
                return Ok(());
            };
            // Every write below holds only while this attempt still holds the message.
            let finish = |status: &'static str, next: i64, reason: Option<String>, sent_at: Option<i64>| {
                let (db, id) = (db.clone(), id.clone());
                async move {
                    // A message that ends keeps no content (its code) for the days staff see it.
                    db.execute(
                        query(
                            "UPDATE sms_message SET status = $3, next_attempt_at = $4, last_error = $5, sent_at = $6, \
                             params = CASE WHEN $3 = 'queued' THEN params ELSE '' END \
                             WHERE id = $1 AND status = 'queued' AND attempts = $2",
                        )
                        .bind(&id)
                        .bind(attempts)
                        .bind(status)
                        .bind(next)
                        .bind(reason)
                        .bind(sent_at),
                    )
                    .await
                }
            };
            if now.0 >= expires_at {
                // A code past its life helps no one: it is not sent late.
                finish("failed", now.0, Some("expired before delivery".into()), None).await?;
                return Ok(());
            }
            if let Some(code_id) = &code_id {
                let sql = if kind == SmsKind::ApplicantSignIn {
                    "SELECT used_at FROM applicant_code WHERE id = $1"
                } else {
                    "SELECT used_at FROM sms_code WHERE id = $1"
                };
                let live: Option<Option<i64>> = db.fetch_optional(query(sql).bind(code_id)).await?;
                if !matches!(live, Some(None)) {
                    finish("failed", now.0, Some("replaced by a newer code or used".into()), None).await?;
                    return Ok(());
                }
            }
            let vault = db.vault();
            let mobile = vault.open(Column::SmsMobile.at(&id), &mobile)?;
            let params: serde_json::Value =
                serde_json::from_str(&vault.open(Column::SmsParams.at(&id), &params)?).unwrap_or_default();
            let outcome = match self {
                SmsGateway::Outbox => {
                    let row = db.vault().seal(Column::OutboxMobile.at(&id), &mobile);
                    db.execute(query("INSERT INTO sms_outbox (id, authority_id, mobile, body, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING").bind(&id).bind(&authority_id).bind(&row).bind(body_of(kind, &params)).bind(now.0)).await?;
                    Ok(())
                }
                SmsGateway::Http(http) => http.post(&id, kind, &mobile, &params, now).await,
            };
            match outcome {
                Ok(()) => finish("sent", now.0, None, Some(now.0)).await?,
                Err(reason) => {
                    let reason: String = reason.chars().take(300).collect();
                    tracing::warn!(sms = %id, attempts, %reason, "SMS not delivered");
                    let next = after_failure(attempts, now, expires_at);
                    let status = if next.is_some() { "queued" } else { "failed" };
                    finish(status, next.unwrap_or(now.0), Some(reason), None).await?
                }
            };
            Ok(())
        }
    }

    /// Delivers every queued message that is due, at most `limit` of them, each at the time
    /// `clock` reads when its turn comes (a round may wait on a slow gateway); answers how many
    /// were attempted. A running server calls it every few seconds (every app server may: the
    /// lease keeps them apart).
    pub async fn deliver_due(db: &Db, gateway: &SmsGateway, limit: i64, clock: impl Fn() -> Millis) -> Result<usize> {
        let due: Vec<String> = db
            .fetch_all(
                query(
                    "SELECT id FROM sms_message WHERE status = 'queued' AND next_attempt_at <= $1 \
                     ORDER BY next_attempt_at, id LIMIT $2",
                )
                .bind(clock().0)
                .bind(limit.clamp(1, 1000)),
            )
            .await?;
        for id in &due {
            gateway.deliver(db, id, clock()).await?;
        }
        Ok(due.len())
    }

    impl HttpSms {
        async fn post(
            &self,
            id: &str,
            kind: SmsKind,
            mobile: &str,
            params: &serde_json::Value,
            now: Millis,
        ) -> std::result::Result<(), String> {
            let template = self.template(kind).ok_or_else(|| format!("no template configured for {kind}"))?;
            let body =
                serde_json::json!({ "id": id, "mobile": mobile, "template": template, "params": params }).to_string();
            let signature = self.signature(&body, now);
            let headers = [("x-ecert-signature", signature.as_str())];
            let (status, answer) =
                crate::registry::outbound::post_json(&self.url, &headers, body, self.timeout).await?;
            if status.is_success() {
                Ok(())
            } else {
                // The gateway's own words are kept for staff with every digit masked: they may
                // echo the mobile or the code in any form.
                let answer = mask_digits(String::from_utf8_lossy(&answer).trim());
                Err(format!("gateway answered {}: {answer}", status.as_u16()))
            }
        }
    }

    /// The latest messages of the staff member's authority as the delivery list shows them:
    /// masked mobile, kind, state, attempts and the gateway's last words; never the content.
    pub async fn deliveries(db: &Db, staff: &StaffView, limit: i64) -> Result<Vec<Delivery>> {
        type Row = (String, String, String, String, i64, Option<String>, i64, Option<i64>);
        let rows: Vec<Row> = db
            .fetch_all(
                query(
                    "SELECT id, kind, mobile, status, attempts, last_error, created_at, sent_at FROM sms_message \
                     WHERE authority_id = $1 ORDER BY created_at DESC, id LIMIT $2",
                )
                .bind(&staff.authority_id)
                .bind(limit.clamp(1, 100)),
            )
            .await?;
        rows.into_iter()
            .map(|(id, kind, mobile, status, attempts, last_error, created_at, sent_at)| {
                Ok(Delivery {
                    mobile: mask::mobile(&db.vault().open(Column::SmsMobile.at(&id), &mobile)?),
                    kind: SmsKind::from_sql(&kind).unwrap_or(SmsKind::PasswordReset),
                    status: DeliveryStatus::from_sql(&status).unwrap_or(DeliveryStatus::Failed),
                    attempts,
                    last_error,
                    created_at,
                    sent_at,
                })
            })
            .collect()
    }

    fn code_hash(holder_id: &str, code: &str) -> String {
        token_hash(&format!("{holder_id}:{}", code.trim()))
    }

    /// Sends a reset code to the registered mobile of the device's holder; answers the masked
    /// mobile it went to. The device signs `sms-request` over its id and the time of signing
    /// (`signed`: the time and the signature), so only the phone holding the binding can ask,
    /// also while its password is locked, and a captured request cannot be sent again.
    pub async fn request_reset(
        db: &Db,
        gateway: &SmsGateway,
        device_id: &str,
        (signed_at, signature): (i64, &str),
        now: Millis,
        random: &Random,
    ) -> Result<String> {
        let bound = device::signed_fresh(db, device_id, action::SMS_REQUEST, signed_at, signature, now).await?;
        send_code(db, gateway, &bound.holder_id, SmsKind::PasswordReset, now, random).await
    }

    /// R19: sends the code that takes a role up on a new phone to the registered mobile of the
    /// holder a live re-download code moves; answers the masked mobile. The re-download code is
    /// the caller's only credential (the new phone has no key the platform knows yet): it is
    /// random, lives minutes and works once, and its holder gets one SMS a minute and five an
    /// hour, so a crowd without a code sends nothing and one with a code little.
    pub async fn request_redownload(
        db: &Db,
        gateway: &SmsGateway,
        code: &str,
        now: Millis,
        random: &Random,
    ) -> Result<String> {
        let holder_id = crate::code::live_holder(db, crate::code::CodeKind::Redownload, code, now).await?;
        send_code(db, gateway, &holder_id, SmsKind::Redownload, now, random).await
    }

    /// A new code of `kind` to the holder's registered mobile (earlier codes stop working), one
    /// a minute and [`PER_HOUR`] an hour; the first attempt at once, a failure retried from the
    /// queue. Answers the masked mobile.
    async fn send_code(
        db: &Db,
        gateway: &SmsGateway,
        holder_id: &str,
        kind: SmsKind,
        now: Millis,
        random: &Random,
    ) -> Result<String> {
        let mut tx = db.begin_write().await?;
        let sql = "SELECT h.mobile, i.authority_id FROM holder h JOIN certificate c ON c.id = h.certificate_id \
             JOIN institution i ON i.id = c.institution_id WHERE h.id = $1";
        let (mobile, authority_id): (String, String) =
            tx.fetch_one(query(sql).lock_rows_of("h").bind(holder_id)).await?;
        let mobile = tx.vault().open(Column::HolderMobile.at(holder_id), &mobile)?;
        let (sent, last): (i64, Option<i64>) = tx
            .fetch_one(
                query("SELECT COUNT(*), MAX(created_at) FROM sms_code WHERE holder_id = $1 AND created_at > $2")
                    .bind(holder_id)
                    .bind(now.0 - Millis::HOUR),
            )
            .await?;
        if sent >= PER_HOUR || last.is_some_and(|l| l > now.0 - MIN_INTERVAL_SECONDS * Millis::SECOND) {
            return Err(DomainError::RateLimited.into());
        }
        // Earlier codes stop working.
        tx.execute(
            query("UPDATE sms_code SET used_at = $1 WHERE holder_id = $2 AND used_at IS NULL")
                .bind(now)
                .bind(holder_id),
        )
        .await?;
        let code = random.digits(CODE_DIGITS);
        let code_id = random.id();
        tx.execute(query("INSERT INTO sms_code (id, holder_id, code_hash, attempts, created_at, expires_at, purpose) VALUES ($1, $2, $3, 0, $4, $5, $6)").bind(&code_id).bind(holder_id).bind(code_hash(holder_id, code.expose())).bind(now.0).bind(now.plus_minutes(CODE_MINUTES).0).bind(kind)).await?;
        let params = serde_json::json!({ "code": code.expose(), "minutes": CODE_MINUTES.to_string() });
        let expires_at = now.plus_minutes(CODE_MINUTES);
        let message =
            enqueue(&mut tx, &authority_id, (kind, Some(&code_id)), &mobile, &params, expires_at, now, random).await?;
        tx.commit().await?;
        // The first attempt now; a failure waits in the queue for `deliver_due`.
        gateway.deliver(db, &message, now).await?;
        Ok(mask::mobile(&mobile))
    }

    /// Checks the SMS code and the holder's ID number (a real-name check, SPEC §5, issue 14
    /// §5: a phone's SMS alone must not reset the certificate password) — each try is counted
    /// and committed first, 5 tries per code, and a wrong code and a wrong ID number answer
    /// alike — then sets the new certificate password, which also unlocks it, and writes a
    /// change record.
    #[allow(clippy::too_many_arguments)]
    pub async fn reset_password(
        db: &Db,
        device_id: &str,
        (signed_at, signature): (i64, &str),
        sms_code: &str,
        id_number: &str,
        new_password: Secret,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        device::check_new_password("certificate_password", new_password.expose())
            .map_err(|e| DomainError::Validation(vec![e]))?;
        let bound = device::signed_fresh(db, device_id, action::PASSWORD_RESET, signed_at, signature, now).await?;
        let taken: Option<(String, String, i64)> = db.fetch_optional(query("UPDATE sms_code SET attempts = attempts + 1 WHERE id = (SELECT id FROM sms_code WHERE holder_id = $1 \
             AND used_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 1) AND attempts < $3 AND purpose = $4 \
             RETURNING id, code_hash, attempts").bind(&bound.holder_id).bind(now.0).bind(CODE_TRIES).bind(SmsKind::PasswordReset)).await?;
        let Some((id, hash, attempts)) = taken else {
            return Err(DomainError::SmsCodeWrong { remaining: 0 }.into());
        };
        let (sealed,): (String,) =
            db.fetch_one(query("SELECT id_number FROM holder WHERE id = $1").bind(&bound.holder_id)).await?;
        let same_person = db.vault().matches(
            Column::HolderIdNumber.at(&bound.holder_id),
            &sealed,
            &id_number.trim().to_ascii_uppercase(),
        )?;
        if !constant_time_eq(&hash, &code_hash(&bound.holder_id, sms_code)) || !same_person {
            return Err(DomainError::SmsCodeWrong { remaining: CODE_TRIES - attempts }.into());
        }
        // The code is used, the password set (and unlocked) and the record written together.
        let password_hash = crate::secret::hash_password(new_password, random).await?;
        let mut tx = db.begin_write().await?;
        let n = tx
            .execute(query("UPDATE sms_code SET used_at = $1 WHERE id = $2 AND used_at IS NULL").bind(now).bind(&id))
            .await?;
        if n != 1 {
            return Err(DomainError::SmsCodeWrong { remaining: 0 }.into());
        }
        let set = tx
            .execute(
                query("UPDATE device SET password_hash = $1, failed_passwords = 0 WHERE id = $2 AND status = 'active'")
                    .bind(&password_hash)
                    .bind(device_id),
            )
            .await?;
        if set != 1 {
            return Err(DomainError::Revoked.into());
        }
        records::change(
            &mut tx,
            &bound.certificate_id,
            ChangeKind::PasswordReset,
            Actor::Holder(&bound.holder_id),
            Some(&bound.holder_id),
            now,
            random,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// R19: counts a try of the SMS code sent for `holder_id`'s re-download (committed before
    /// anything else, [`CODE_TRIES`] per code) and answers the code's id when `sms_code` is it;
    /// the caller marks it used with [`use_code`] in the transaction that moves the role.
    pub async fn try_redownload_code(db: &Db, holder_id: &str, sms_code: &str, now: Millis) -> Result<String> {
        let taken: Option<(String, String, i64)> = db.fetch_optional(query("UPDATE sms_code SET attempts = attempts + 1 WHERE id = (SELECT id FROM sms_code WHERE holder_id = $1 \
             AND used_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 1) AND attempts < $3 AND purpose = $4 \
             RETURNING id, code_hash, attempts").bind(holder_id).bind(now.0).bind(CODE_TRIES).bind(SmsKind::Redownload)).await?;
        let Some((id, hash, attempts)) = taken else {
            return Err(DomainError::SmsCodeWrong { remaining: 0 }.into());
        };
        if !constant_time_eq(&hash, &code_hash(holder_id, sms_code)) {
            return Err(DomainError::SmsCodeWrong { remaining: CODE_TRIES - attempts }.into());
        }
        Ok(id)
    }

    /// Marks an SMS code used inside the caller's transaction; a code used meanwhile answers
    /// [`DomainError::SmsCodeWrong`].
    pub async fn use_code(tx: &mut Tx, id: &str, now: Millis) -> Result<()> {
        let n = tx
            .execute(query("UPDATE sms_code SET used_at = $1 WHERE id = $2 AND used_at IS NULL").bind(now).bind(id))
            .await?;
        if n != 1 {
            return Err(DomainError::SmsCodeWrong { remaining: 0 }.into());
        }
        Ok(())
    }

    /// The development gateway's latest messages for the staff member's authority. With
    /// `codes` off (a production deployment, issue 14 §6) every code in them is masked: staff
    /// must never read a code that unlocks someone's certificate password.
    pub async fn outbox(db: &Db, staff: &StaffView, limit: i64, codes: bool) -> Result<Vec<OutboxMessage>> {
        let rows: Vec<(String, String, String, i64)> = db.fetch_all(query("SELECT id, mobile, body, created_at FROM sms_outbox WHERE authority_id = $1 ORDER BY created_at DESC, id LIMIT $2").bind(&staff.authority_id).bind(limit.clamp(1, 100))).await?;
        rows.into_iter()
            .map(|(id, mobile, body, created_at)| {
                let body = if codes { body } else { super::mask_codes(&body) };
                Ok(OutboxMessage {
                    mobile: mask::mobile(&db.vault().open(Column::OutboxMobile.at(&id), &mobile)?),
                    body,
                    created_at,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_masked_and_other_numbers_kept() {
        assert_eq!(mask_codes("您的验证码为 483920，5分钟内有效"), "您的验证码为 ******，5分钟内有效");
        assert_eq!(mask_codes("code 12345 and 1234567"), "code 12345 and *******");
        assert_eq!(mask_codes("483920"), "******");
        assert_eq!(mask_digits("发往 +86 138-1234-5678，码１２３"), "发往 +** ***-****-****，码***");
    }

    #[cfg(feature = "server")]
    #[test]
    fn a_message_is_given_up_after_five_attempts_or_before_its_content_expires() {
        let now = crate::Millis(1_000_000);
        let far = i64::MAX;
        assert_eq!(after_failure(1, now, far), Some(1_005_000));
        assert_eq!(after_failure(4, now, far), Some(1_135_000));
        assert_eq!(after_failure(MAX_ATTEMPTS, now, far), None, "five attempts at most");
        assert_eq!(after_failure(1, now, 1_005_000), None, "the next try would come as the code expires");
        assert_eq!(after_failure(1, now, 1_005_001), Some(1_005_000));
    }
}
