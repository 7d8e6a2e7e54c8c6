//! Device bindings ("downloading the certificate"): a holder's phone keeps a P-256 private key
//! that never leaves it; the server keeps the public key and checks that every approval (claim,
//! accept, scan login, password change) is signed by it. The certificate password protects the
//! binding (R13): 6 wrong entries in a row lock it until an SMS code resets it.
//!
//! Wire format, shared with the wallet and documented in the JSON API:
//! * public key: the uncompressed SEC1 point (65 bytes, `0x04‖X‖Y`), base64url without padding;
//!   that is WebCrypto's `exportKey("raw", publicKey)`.
//! * signature: ECDSA P-256 over SHA-256 of the UTF-8 [`message`], as `r‖s` (64 bytes), base64url;
//!   that is WebCrypto's `sign({name: "ECDSA", hash: "SHA-256"}, …)`.

/// The live-binding rule in SQL (R8, R14, R15, R20): the device `d`, its holder `h` and the
/// holder's certificate `c` are all still active and the certificate has not lapsed at the
/// time bound to the placeholder `$now` (epoch ms) — removing a holder, voiding its device,
/// changing or cancelling the certificate, or its validity ending ends the binding at once.
/// Every query that acts through a device joins those three aliases and adds this. A string
/// literal, for `concat!`.
#[macro_export]
macro_rules! binding_live_sql {
    ($now:literal) => {
        concat!("(d.status = 'active' AND h.status = 'active' AND c.status = 'active' AND c.expires_at > ", $now, ")")
    };
}

pub use crate::error::VoidReason;

/// The exact text a device signs for an action on a code or a device.
pub fn message(action: &str, subject: &str) -> String {
    format!("ecert/v1\n{action}\n{subject}")
}

/// The subject of an action a device signs on itself rather than on a code: its id (or what the
/// action names, one a line) and the time of signing (epoch ms), so that a captured request
/// cannot be sent again (issue 14 §5: every such message is timed).
pub fn timed_subject(subject: &str, signed_at: i64) -> String {
    format!("{subject}\n{signed_at}")
}

/// How far a signing time may be from the server's clock, either way.
pub const SIGNED_AT_SKEW_MINUTES: i64 = 5;

/// Actions a device signs.
pub mod action {
    pub const CLAIM: &str = "claim";
    pub const ACCEPT: &str = "accept";
    pub const LOGIN_SCAN: &str = "login-scan";
    pub const LOGIN_APPROVE: &str = "login-approve";
    pub const LOGIN_REJECT: &str = "login-reject";
    pub const PASSWORD_CHANGE: &str = "password-change";
    pub const PASSWORD_RESET: &str = "password-reset";
    pub const SMS_REQUEST: &str = "sms-request";
    pub const STATUS: &str = "status";
    pub const PRESENT: &str = "present";
    pub const RECORDS: &str = "records";
    /// Scan to sign: the wallet opens and rejects a sign request with these; it signs the
    /// document itself over `signing::payload`, not over a device message.
    pub const SIGN_SCAN: &str = "sign-scan";
    pub const SIGN_REJECT: &str = "sign-reject";
    /// Issue 14 §1: approving a dashboard write on the phone. The approval signs
    /// `login::approval::approve_subject` (the code and the action's digest).
    pub const APPROVAL_SCAN: &str = "approval-scan";
    pub const APPROVAL_APPROVE: &str = "approval-approve";
    pub const APPROVAL_REJECT: &str = "approval-reject";
    /// Issue 14 §1: the wallet lists the holder's sessions (timed, like `RECORDS`) and ends one
    /// (over its kind and handle, one a line).
    pub const ACTIVITY: &str = "activity";
    /// Issue 16 §8: the wallet checks a presented number (scanned from a barcode), signed over
    /// the number and the time of signing.
    pub const CHECK_NUMBER: &str = "check-number";
    pub const END_SESSION: &str = "end-session";
    /// R19: a new phone takes up the holder's role with a re-download code (signed over it).
    pub const REDOWNLOAD: &str = "redownload";
    /// Issue 16 journey 1: the holder removes the card from this phone (timed, over the device).
    pub const REMOVE_CARD: &str = "remove-card";
    /// Issue 16 journey 3: a manager's phone lists what it manages (timed, over the device) and
    /// does a management action (timed, over the action's JSON as sent).
    pub const MANAGE_LIST: &str = "manage-list";
    pub const MANAGE: &str = "manage";
    /// Issue 16 journey 4: the holder opens the certificate face (timed, over the device).
    pub const FACE: &str = "face";
    /// R17: the user receives a grant by scanning its grant QR (signed over the code).
    pub const GRANT_RECEIVE: &str = "grant-receive";
}

/// R13: wrong entries in a row that lock the certificate password.
pub const PASSWORD_TRIES: i64 = 6;
/// Shortest and longest certificate password.
pub const PASSWORD_MIN: usize = 6;
pub const PASSWORD_MAX: usize = 64;

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};

    use super::*;
    use crate::error::{DomainError, FieldError, Problem, Result};
    use crate::secret::{self, Random, Secret};
    use crate::store::{Db, Tx, query};
    use crate::time::Millis;

    /// Parses a base64url SEC1 P-256 public key; a clear field error otherwise.
    pub fn parse_public_key(encoded: &str) -> Result<VerifyingKey, DomainError> {
        URL_SAFE_NO_PAD
            .decode(encoded.trim())
            .ok()
            .filter(|b| b.len() == 65 || b.len() == 33)
            .and_then(|b| VerifyingKey::from_sec1_bytes(&b).ok())
            .ok_or_else(|| DomainError::field("public_key", Problem::BadFormat))
    }

    /// Checks `signature` (base64url `r‖s`) over `message` with `public_key` (base64url SEC1).
    pub fn verify(public_key: &str, message: &str, signature: &str) -> Result<(), DomainError> {
        let key = parse_public_key(public_key).map_err(|_| DomainError::BadSignature)?;
        let sig = URL_SAFE_NO_PAD
            .decode(signature.trim())
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or(DomainError::BadSignature)?;
        key.verify(message.as_bytes(), &sig).map_err(|_| DomainError::BadSignature)
    }

    /// Checks a new certificate password's length.
    pub fn check_new_password(field: &str, password: &str) -> Result<(), FieldError> {
        let n = password.chars().count();
        if n == 0 {
            Err(FieldError::new(field, Problem::Required))
        } else if n < PASSWORD_MIN {
            Err(FieldError::new(field, Problem::TooShort { min: PASSWORD_MIN }))
        } else if n > PASSWORD_MAX {
            Err(FieldError::new(field, Problem::TooLong { max: PASSWORD_MAX }))
        } else {
            Ok(())
        }
    }

    /// A live device binding with its holder and certificate, all three still valid.
    #[derive(Clone, Debug)]
    pub struct Bound {
        pub device_id: String,
        pub holder_id: String,
        pub certificate_id: String,
        pub role: crate::holder::Role,
        pub public_key: String,
    }
    crate::store::from_row!(Bound { device_id, holder_id, certificate_id, role, public_key });

    const BOUND_SELECT: &str = concat!(
        "SELECT d.id AS device_id, h.id AS holder_id, h.certificate_id, h.role, d.public_key \
         FROM device d JOIN holder h ON h.id = d.holder_id JOIN certificate c ON c.id = h.certificate_id \
         WHERE d.id = $1 AND ",
        crate::binding_live_sql!("$2")
    );

    /// The binding `device_id` if the device, its holder and its certificate are all live at
    /// `now` (R8, R14, R15, R20), and the device signed `message` with its key. A binding whose
    /// only fault is the certificate's lapsed validity is told so (`Expired`), so the holder
    /// knows renewal is the way back.
    pub async fn signed(db: &Db, device_id: &str, message: &str, signature: &str, now: Millis) -> Result<Bound> {
        let bound: Option<Bound> = db.fetch_optional(query(BOUND_SELECT).bind(device_id).bind(now.0)).await?;
        let Some(bound) = bound else {
            // Only the device's own key learns the last day (it is the holder's to know).
            let lapsed: Option<(i64, String)> = db
                .fetch_optional(
                    query(
                        "SELECT c.expires_at, d.public_key FROM device d JOIN holder h ON h.id = d.holder_id \
                         JOIN certificate c ON c.id = h.certificate_id \
                         WHERE d.id = $1 AND d.status = 'active' AND h.status = 'active' AND c.status = 'active'",
                    )
                    .bind(device_id),
                )
                .await?;
            return Err(match lapsed {
                Some((expires_at, key)) if verify(&key, message, signature).is_ok() => {
                    DomainError::Expired { last_day: crate::validity::last_day(expires_at) }
                }
                _ => DomainError::Revoked,
            }
            .into());
        };
        verify(&bound.public_key, message, signature)?;
        Ok(bound)
    }

    /// Like [`signed`], for an action on the device itself: the message is
    /// [`timed_subject`]`(device_id, signed_at)`, the time must be within
    /// [`SIGNED_AT_SKEW_MINUTES`] of now and later than any earlier signature of the device. The
    /// device's last signing time is moved forward in one guarded statement, so of two requests
    /// carrying the same signature only one gets through.
    pub async fn signed_fresh(
        db: &Db,
        device_id: &str,
        act: &str,
        signed_at: i64,
        signature: &str,
        now: Millis,
    ) -> Result<Bound> {
        signed_fresh_over(db, device_id, act, device_id, signed_at, signature, now).await
    }

    /// [`signed_fresh`] for an action whose subject names more than the device (ending a
    /// session names the session): the message is [`timed_subject`]`(subject, signed_at)`.
    pub async fn signed_fresh_over(
        db: &Db,
        device_id: &str,
        act: &str,
        subject: &str,
        signed_at: i64,
        signature: &str,
        now: Millis,
    ) -> Result<Bound> {
        // `abs_diff`: a signing time at either end of i64 is stale, never an overflow.
        if now.0.abs_diff(signed_at) > (SIGNED_AT_SKEW_MINUTES * Millis::MINUTE).unsigned_abs() {
            return Err(DomainError::StaleSignature.into());
        }
        let bound = signed(db, device_id, &message(act, &timed_subject(subject, signed_at)), signature, now).await?;
        let moved = db
            .execute(
                query("UPDATE device SET last_signed_at = $1 WHERE id = $2 AND last_signed_at < $1")
                    .bind(signed_at)
                    .bind(device_id),
            )
            .await?;
        if moved != 1 {
            return Err(DomainError::StaleSignature.into());
        }
        Ok(bound)
    }

    /// R13: checks the certificate password of a device. Each attempt takes one of the 6 tries
    /// before the (slow) hash is compared, so concurrent guesses cannot exceed the limit; a right
    /// password gives them all back. The count is committed on its own, whatever the caller does next.
    pub async fn check_password(db: &Db, device_id: &str, password: Secret) -> Result<()> {
        let taken: Option<(i64, String)> = db
            .fetch_optional(
                query(
                    "UPDATE device SET failed_passwords = failed_passwords + 1 \
             WHERE id = $1 AND status = 'active' AND failed_passwords < $2 RETURNING failed_passwords, password_hash",
                )
                .bind(device_id)
                .bind(PASSWORD_TRIES),
            )
            .await?;
        let Some((failed, hash)) = taken else {
            let live: Option<i64> = db
                .fetch_optional(
                    query("SELECT failed_passwords FROM device WHERE id = $1 AND status = 'active'").bind(device_id),
                )
                .await?;
            return Err(match live {
                Some(_) => DomainError::PasswordLocked,
                None => DomainError::Revoked,
            }
            .into());
        };
        if secret::verify_password(password, hash).await {
            db.execute(query("UPDATE device SET failed_passwords = 0 WHERE id = $1").bind(device_id)).await?;
            return Ok(());
        }
        let remaining = PASSWORD_TRIES - failed;
        Err(if remaining <= 0 { DomainError::PasswordLocked } else { DomainError::WrongPassword { remaining } }.into())
    }

    /// Why the device `device_id` no longer works (R19: a void card says why), if `signature`
    /// over `message` verifies with the device's own key, whatever its state: the reason is the
    /// holder's to know, nobody else's. `None` for a device that is live, unknown, or whose key
    /// did not sign.
    pub async fn why_void(db: &Db, device_id: &str, message: &str, signature: &str) -> Result<Option<VoidReason>> {
        type Row = (String, String, Option<String>, String, String);
        let row: Option<Row> = db
            .fetch_optional(
                query(
                    "SELECT d.public_key, d.status, d.void_reason, h.status, c.status FROM device d \
                     JOIN holder h ON h.id = d.holder_id JOIN certificate c ON c.id = h.certificate_id WHERE d.id = $1",
                )
                .bind(device_id),
            )
            .await?;
        let Some((key, device, reason, holder, certificate)) = row else { return Ok(None) };
        if verify(&key, message, signature).is_err() {
            return Ok(None);
        }
        Ok(match (certificate.as_str(), reason.as_deref().and_then(VoidReason::from_sql)) {
            ("cancelled", _) => Some(VoidReason::Cancelled),
            ("deleted", _) => Some(VoidReason::Deleted),
            (_, Some(reason)) if device != "active" => Some(reason),
            _ if holder == "removed" || device != "active" => Some(VoidReason::Removed),
            _ => None,
        })
    }

    /// Binds a new device to `holder_id` inside the caller's transaction, voiding any earlier one.
    /// `password_hash` is hashed by the caller before the transaction, so that the slow hash
    /// never runs while the write lock is held.
    pub async fn bind(
        tx: &mut Tx,
        holder_id: &str,
        public_key: &str,
        password_hash: &str,
        now: Millis,
        random: &Random,
    ) -> Result<String> {
        void_for_holder(tx, holder_id, VoidReason::Moved, now).await?;
        let id = random.id();
        tx.execute(
            query(
                "INSERT INTO device (id, holder_id, public_key, password_hash, failed_passwords, status, created_at) \
             VALUES ($1, $2, $3, $4, 0, 'active', $5)",
            )
            .bind(&id)
            .bind(holder_id)
            .bind(public_key.trim())
            .bind(password_hash)
            .bind(now.0),
        )
        .await?;
        Ok(id)
    }

    /// Voids a holder's device binding for `reason` and ends its dashboard sessions (R8: at once).
    pub async fn void_for_holder(tx: &mut Tx, holder_id: &str, reason: VoidReason, now: Millis) -> Result<()> {
        tx.execute(
            query(
                "UPDATE device SET status = 'voided', voided_at = $1, void_reason = $2 \
                 WHERE holder_id = $3 AND status = 'active'",
            )
            .bind(now)
            .bind(reason.as_sql())
            .bind(holder_id),
        )
        .await?;
        tx.execute(
            query("UPDATE holder_session SET ended_at = $1 WHERE holder_id = $2 AND ended_at IS NULL")
                .bind(now)
                .bind(holder_id),
        )
        .await?;
        Ok(())
    }

    /// Sets a new certificate password on a live device and gives back all its tries.
    pub async fn set_password(db: &Db, device_id: &str, password: Secret, random: &Random) -> Result<()> {
        let hash = secret::hash_password(password, random).await?;
        let n = db
            .execute(
                query("UPDATE device SET password_hash = $1, failed_passwords = 0 WHERE id = $2 AND status = 'active'")
                    .bind(&hash)
                    .bind(device_id),
            )
            .await?;
        if n == 1 { Ok(()) } else { Err(DomainError::Revoked.into()) }
    }

    /// R13: changes the certificate password, given the old one and the device's timed
    /// signature (a captured request cannot be sent again to guess the old password).
    pub async fn change_password(
        db: &Db,
        device_id: &str,
        (signed_at, signature): (i64, &str),
        old: Secret,
        new: Secret,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        check_new_password("certificate_password", new.expose()).map_err(|e| DomainError::Validation(vec![e]))?;
        signed_fresh(db, device_id, action::PASSWORD_CHANGE, signed_at, signature, now).await?;
        check_password(db, device_id, old).await?;
        set_password(db, device_id, new, random).await
    }
}
