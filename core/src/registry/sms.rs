//! R13: unlocking and resetting a certificate password with an SMS code sent to the holder's
//! registered mobile. Codes are 6 digits, live 5 minutes, allow 5 tries, and sending is
//! rate-limited (one a minute, five an hour per holder). Messages go through an SMS-gateway
//! adapter; the development gateway writes them to an outbox that staff read in the console.

use serde::{Deserialize, Serialize};

pub const CODE_MINUTES: i64 = 5;
/// Digits of an SMS code.
pub const CODE_DIGITS: usize = 6;
pub const CODE_TRIES: i64 = 5;
pub const MIN_INTERVAL_SECONDS: i64 = 60;
pub const PER_HOUR: i64 = 5;

/// A message of the development gateway's outbox, as staff see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub mobile: String,
    pub body: String,
    pub created_at: i64,
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

    /// Where SMS messages go.
    #[derive(Clone, Debug, Default)]
    pub enum SmsGateway {
        /// Development: the `sms_outbox` table, readable by the authority's staff.
        #[default]
        Outbox,
    }

    impl SmsGateway {
        async fn send(
            &self,
            tx: &mut Tx,
            authority_id: &str,
            mobile: &str,
            body: &str,
            now: Millis,
            random: &Random,
        ) -> Result<()> {
            match self {
                SmsGateway::Outbox => {
                    let id = random.id();
                    let mobile = tx.vault().seal(Column::OutboxMobile.at(&id), mobile);
                    tx.execute(query("INSERT INTO sms_outbox (id, authority_id, mobile, body, created_at) VALUES ($1, $2, $3, $4, $5)").bind(&id).bind(authority_id).bind(&mobile).bind(body).bind(now.0)).await?;
                    Ok(())
                }
            }
        }
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
        let mut tx = db.begin_write().await?;
        let sql = "SELECT h.mobile, i.authority_id FROM holder h JOIN certificate c ON c.id = h.certificate_id \
             JOIN institution i ON i.id = c.institution_id WHERE h.id = $1";
        let (mobile, authority_id): (String, String) =
            tx.fetch_one(query(sql).lock_rows_of("h").bind(&bound.holder_id)).await?;
        let mobile = tx.vault().open(Column::HolderMobile.at(&bound.holder_id), &mobile)?;
        let (sent, last): (i64, Option<i64>) = tx
            .fetch_one(
                query("SELECT COUNT(*), MAX(created_at) FROM sms_code WHERE holder_id = $1 AND created_at > $2")
                    .bind(&bound.holder_id)
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
                .bind(&bound.holder_id),
        )
        .await?;
        let code = random.digits(CODE_DIGITS);
        tx.execute(query("INSERT INTO sms_code (id, holder_id, code_hash, attempts, created_at, expires_at) VALUES ($1, $2, $3, 0, $4, $5)").bind(random.id()).bind(&bound.holder_id).bind(code_hash(&bound.holder_id, code.expose())).bind(now.0).bind(now.plus_minutes(CODE_MINUTES).0)).await?;
        let body = format!(
            "【事业单位法人电子证书】您正在重置证书密码，验证码{}，{}分钟内有效。如非本人操作，请忽略。",
            code.expose(),
            CODE_MINUTES
        );
        gateway.send(&mut tx, &authority_id, &mobile, &body, now, random).await?;
        tx.commit().await?;
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
             AND used_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 1) AND attempts < $3 \
             RETURNING id, code_hash, attempts").bind(&bound.holder_id).bind(now.0).bind(CODE_TRIES)).await?;
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
    }
}
