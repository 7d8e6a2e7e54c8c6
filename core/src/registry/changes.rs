//! Journey 7: changes recorded by staff in the console. A legal-representative change and a
//! first-manager change (form 2) void every authorization of the certificate at once — managers,
//! users, grants, device bindings, sessions and codes — and issue a new claim code for the new
//! first manager (R14). Name and mobile changes, cancellation and deletion (R15) are change
//! records too. Staff act only for institutions of their own authority.

use serde::{Deserialize, Serialize};

crate::text_enum! {
    /// The kinds of change records (R12), as staff and holders make them.
    pub enum ChangeKind {
        Issued = "issued",
        Claimed = "claimed",
        ManagerAdded = "manager_added",
        ManagerAccepted = "manager_accepted",
        ManagerRemoved = "manager_removed",
        UserAdded = "user_added",
        UserAccepted = "user_accepted",
        UserRemoved = "user_removed",
        GrantAdded = "grant_added",
        GrantCancelled = "grant_cancelled",
        PasswordReset = "password_reset",
        LegalRepChanged = "legal_rep_changed",
        FirstManagerChanged = "first_manager_changed",
        Renamed = "renamed",
        MobileChanged = "mobile_changed",
        AddressChanged = "address_changed",
        RepMobileChanged = "rep_mobile_changed",
        /// R20: the validity runs on; no holder is disturbed.
        Renewed = "renewed",
        /// R19: the holder's phone stopped and a re-download code was given (by the one who
        /// added them, or by staff for the first manager).
        RedownloadIssued = "redownload_issued",
        /// R19: the holder took up the role on a new phone.
        DeviceChanged = "device_changed",
        /// The holder removed the card from the phone.
        DeviceRemoved = "device_removed",
        /// R17: the user scanned the grant QR; the grant is in force from now (in its period).
        GrantReceived = "grant_received",
        /// The first manager gave a manager the right to authorize users, or withdrew it.
        AuthorizeRightGiven = "authorize_right_given",
        AuthorizeRightWithdrawn = "authorize_right_withdrawn",
        Cancelled = "cancelled",
        Deleted = "deleted",
        /// R23: a manager filed a registration business signed on the phone.
        FilingSubmitted = "filing_submitted",
        /// R23: staff approved a filing (what it asks is its own record).
        FilingApproved = "filing_approved",
        /// R23: staff returned a filing with their reasons.
        FilingReturned = "filing_returned",
    }
}

/// What staff ask for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeRequest {
    /// A new legal representative; the first manager is the new representative or a delegate.
    LegalRepresentative {
        legal_rep: crate::certificate::PersonInput,
        first_manager: crate::certificate::FirstManagerChoice,
        /// The papers checked (form 2).
        #[serde(default)]
        checklist: crate::certificate::Checklist,
    },
    /// Form 2: a new first manager (the legal representative or a delegate).
    FirstManager {
        first_manager: crate::certificate::FirstManagerChoice,
        #[serde(default)]
        checklist: crate::certificate::Checklist,
    },
    Rename {
        name: String,
    },
    /// The first manager's registered mobile (where SMS codes go).
    Mobile {
        mobile: String,
    },
    /// The institution's registered address (住所).
    Address {
        address: String,
    },
    /// The legal representative's mobile.
    RepMobile {
        mobile: String,
    },
    /// R20: renew the validity, from three months before it ends (or after it ended).
    Renew,
    /// R19: the first manager's new phone, after staff checked their identity card: the old
    /// phone stops at once, a re-download slip is given, no one else is disturbed.
    NewDevice {
        #[serde(default)]
        checklist: crate::certificate::Checklist,
    },
    Cancel,
    Delete,
}

impl ChangeRequest {
    /// A change that stops people acting for the institution at once: a legal-representative
    /// or first-manager change (R14), a cancellation or a deletion (R15). The console names what
    /// it voids ([`Impact`]) and asks before it applies one.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            ChangeRequest::LegalRepresentative { .. }
                | ChangeRequest::FirstManager { .. }
                | ChangeRequest::Cancel
                | ChangeRequest::Delete
        )
    }
}

/// What a destructive change voids at once: the holders of each role who are not removed, and
/// the grants in force today.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impact {
    pub first_managers: i64,
    pub managers: i64,
    pub users: i64,
    pub grants: i64,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::certificate::{CertificateStatus, ClaimCode, FirstManagerChoice, IssuePolicy, Person, check_person};
    use crate::error::{DomainError, Result, VoidReason};
    use crate::identity::{Asker, IdentityVerifier};
    use crate::records::{self, Actor};
    use crate::seal::Column;
    use crate::secret::Random;
    use crate::staff::{self, Duty, StaffView};
    use crate::store::{Db, Tx, query};
    use crate::time::Millis;
    use crate::validate::{self, Checks};

    /// Voids every role of the certificate (R14), with their grants, devices, sessions and codes.
    async fn void_all(tx: &mut Tx, certificate_id: &str, reason: VoidReason, now: Millis) -> Result<()> {
        let ids: Vec<String> = tx
            .fetch_all(
                query("SELECT id FROM holder WHERE certificate_id = $1 AND status <> 'removed'").bind(certificate_id),
            )
            .await?;
        for id in ids {
            crate::holder::remove_one(tx, &id, reason, now).await?;
        }
        Ok(())
    }

    /// R14: every holder goes (R8, voided by the caller first), and a new first manager — the
    /// delegate named, or else the legal representative — must claim the certificate anew.
    async fn replace_first_manager(
        tx: &mut Tx,
        certificate_id: &str,
        delegate: Option<&Person>,
        rep: &Person,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<ClaimCode> {
        let (first_manager, is_rep) = match delegate {
            Some(d) => (d, false),
            None => (rep, true),
        };
        new_first_manager(tx, certificate_id, first_manager, is_rep, policy, now, random).await
    }

    /// Cancels or deletes the certificate; R15: every code of it fails from now on.
    async fn end_certificate(tx: &mut Tx, certificate_id: &str, status: CertificateStatus, now: Millis) -> Result<()> {
        tx.execute(
            query("UPDATE certificate SET status = $1, ended_at = $2 WHERE id = $3")
                .bind(status)
                .bind(now)
                .bind(certificate_id),
        )
        .await?;
        let void = "UPDATE one_time_code SET voided_at = $1 WHERE certificate_id = $2 AND used_at IS NULL AND voided_at IS NULL";
        tx.execute(query(void).bind(now).bind(certificate_id)).await?;
        Ok(())
    }

    async fn new_first_manager(
        tx: &mut Tx,
        certificate_id: &str,
        p: &Person,
        is_legal_rep: bool,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<ClaimCode> {
        let who = (p.name.as_str(), p.id_number.as_str(), p.mobile.as_str());
        let (_, claim) =
            crate::certificate::pending_first_manager(tx, certificate_id, who, is_legal_rep, policy, now, random)
                .await?;
        Ok(claim)
    }

    /// The fields of a change request, checked, with the identity of every person it names
    /// verified: nothing is touched before all of it holds.
    pub(crate) struct Checked {
        rep: Option<Person>,
        delegate: Option<Person>,
        name: Option<String>,
        mobile: Option<String>,
        address: Option<String>,
    }

    /// A change's fields checked and every person it names verified, before a transaction
    /// applies it with [`apply_checked`] (a registration filing applies several in one).
    pub(crate) async fn prepare(
        db: &Db,
        staff: &StaffView,
        request: &ChangeRequest,
        identity: &IdentityVerifier,
        now: Millis,
        random: &Random,
    ) -> Result<Checked> {
        let mut checks = Checks::new();
        let (rep, delegate) = match request {
            ChangeRequest::LegalRepresentative { legal_rep, first_manager, checklist } => {
                let rep = check_person(&mut checks, "legal_rep_", legal_rep);
                let d = match first_manager {
                    FirstManagerChoice::Delegate(p) => Some(check_person(&mut checks, "first_manager_", p)),
                    FirstManagerChoice::LegalRepresentative => None,
                };
                checks.take(checklist.check(d.is_some()));
                (Some(rep), d)
            }
            ChangeRequest::FirstManager { first_manager, checklist } => {
                let d = match first_manager {
                    FirstManagerChoice::Delegate(p) => Some(check_person(&mut checks, "first_manager_", p)),
                    FirstManagerChoice::LegalRepresentative => None,
                };
                checks.take(checklist.check(d.is_some()));
                (None, d)
            }
            ChangeRequest::NewDevice { checklist } => {
                checks.take(checklist.check_identity());
                (None, None)
            }
            _ => (None, None),
        };
        let name = match request {
            ChangeRequest::Rename { name } => Some(checks.take(validate::text("name", name, 100))),
            _ => None,
        };
        let mobile = match request {
            ChangeRequest::Mobile { mobile } | ChangeRequest::RepMobile { mobile } => {
                Some(checks.take(validate::mobile("mobile", mobile)))
            }
            _ => None,
        };
        let address = match request {
            ChangeRequest::Address { address } => Some(checks.take(validate::text("address", address, 200))),
            _ => None,
        };
        checks.finish()?;
        if let Some(r) = &rep {
            identity
                .verify_for(db, Asker::Staff(&staff.id), "legal_rep_id_number", &r.name, &r.id_number, now, random)
                .await?;
        }
        if let Some(d) = &delegate {
            let field = "first_manager_id_number";
            identity.verify_for(db, Asker::Staff(&staff.id), field, &d.name, &d.id_number, now, random).await?;
        }
        Ok(Checked { rep, delegate, name, mobile, address })
    }

    /// What a destructive change of a certificate of the staff member's authority would void
    /// now (a read; the change itself checks everything again).
    pub async fn impact(db: &Db, staff: &StaffView, certificate_id: &str, now: Millis) -> Result<Impact> {
        let authority: Option<String> = db
            .fetch_optional(
                query("SELECT i.authority_id FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1")
                    .bind(certificate_id),
            )
            .await?;
        match authority {
            None => return Err(DomainError::NotFound.into()),
            Some(a) if a != staff.authority_id => return Err(DomainError::Forbidden.into()),
            Some(_) => {}
        }
        let roles: Vec<(String, i64)> = db
            .fetch_all(
                query(
                    "SELECT role, COUNT(*) FROM holder WHERE certificate_id = $1 AND status <> 'removed' GROUP BY role",
                )
                .bind(certificate_id),
            )
            .await?;
        let count = |role: &str| roles.iter().find(|(r, _)| r == role).map_or(0, |(_, n)| *n);
        let today = crate::time::format_day(crate::time::today_cst(now));
        let grants: i64 = db
            .fetch_one(
                query(
                    "SELECT COUNT(*) FROM holder_grant g JOIN holder h ON h.id = g.holder_id WHERE h.certificate_id = $1 \
                     AND h.status <> 'removed' AND g.status = 'active' AND g.end_day >= $2",
                )
                .bind(certificate_id)
                .bind(today),
            )
            .await?;
        Ok(Impact { first_managers: count("first_manager"), managers: count("manager"), users: count("user"), grants })
    }

    /// Applies a change; answers a new claim code for R14 changes.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply(
        db: &Db,
        staff: &StaffView,
        certificate_id: &str,
        request: &ChangeRequest,
        identity: &IdentityVerifier,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<Option<ClaimCode>> {
        let checked = prepare(db, staff, request, identity, now, random).await?;
        let mut tx = db.begin_write().await?;
        let claim =
            apply_checked(&mut tx, staff, certificate_id, request, checked, identity, policy, now, random).await?;
        tx.commit().await?;
        Ok(claim)
    }

    /// Applies a checked change inside the caller's transaction: the certificate is re-read and
    /// locked, and the staff member's authority and duty re-checked, before anything is written.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn apply_checked(
        tx: &mut Tx,
        staff: &StaffView,
        certificate_id: &str,
        request: &ChangeRequest,
        checked: Checked,
        identity: &IdentityVerifier,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<Option<ClaimCode>> {
        let Checked { rep, delegate, name, mobile, address } = checked;
        // The archive package files the persons as the form named them (issue 15 §3).
        let filed_persons = (rep.as_ref().map(Person::input), delegate.as_ref().map(Person::input));
        let (checklist, identity_check) = match request {
            ChangeRequest::LegalRepresentative { checklist, .. } | ChangeRequest::FirstManager { checklist, .. } => {
                (*checklist, identity.passed())
            }
            // The identity card was checked at the counter, against the registered first manager.
            ChangeRequest::NewDevice { checklist } => (*checklist, "checked at the counter: identity card"),
            _ => (crate::certificate::Checklist::default(), "not_needed"),
        };

        let vault = tx.vault().clone();
        let sql = "SELECT i.id, i.authority_id, i.legal_rep_name, i.legal_rep_id_number, i.legal_rep_mobile, c.expires_at \
             FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1 AND c.status = 'active'";
        let row: Option<(String, String, String, String, String, i64)> =
            tx.fetch_optional(query(sql).lock_rows_of("c").bind(certificate_id)).await?;
        let Some((institution_id, authority_id, rep_name, rep_id, rep_mobile, expires_at)) = row else {
            return Err(DomainError::NotFound.into());
        };
        if authority_id != staff.authority_id {
            return Err(DomainError::Forbidden.into());
        }
        staff::on_duty(tx, staff, Duty::Operate).await?;
        let action = match request {
            ChangeRequest::LegalRepresentative { .. } => "change_legal_rep",
            ChangeRequest::FirstManager { .. } => "change_first_manager",
            ChangeRequest::Rename { .. } => "change_name",
            ChangeRequest::Mobile { .. } => "change_mobile",
            ChangeRequest::Address { .. } => "change_address",
            ChangeRequest::RepMobile { .. } => "change_rep_mobile",
            ChangeRequest::Renew => "certificate_renew",
            ChangeRequest::NewDevice { .. } => "first_manager_new_device",
            ChangeRequest::Cancel => "certificate_cancel",
            ChangeRequest::Delete => "certificate_delete",
        };
        let mut detail = String::new();
        let actor = Actor::Staff(&staff.id);
        let claim = match request {
            ChangeRequest::LegalRepresentative { .. } => {
                let Some(rep) = rep else { return Err(DomainError::InvalidState.into()) };
                tx.execute(query("UPDATE institution SET legal_rep_name = $1, legal_rep_id_number = $2, legal_rep_mobile = $3 WHERE id = $4").bind(&rep.name).bind(vault.seal(Column::RepIdNumber.at(&institution_id), &rep.id_number)).bind(vault.seal(Column::RepMobile.at(&institution_id), &rep.mobile)).bind(&institution_id)).await?;
                void_all(tx, certificate_id, VoidReason::LegalRepChanged, now).await?;
                let claim =
                    replace_first_manager(tx, certificate_id, delegate.as_ref(), &rep, policy, now, random).await?;
                // Issue 15 §2 (Hainan's notice): a new legal representative, a new serial; the old
                // one stays in the action log.
                let old: String =
                    tx.fetch_one(query("SELECT serial FROM certificate WHERE id = $1").bind(certificate_id)).await?;
                let serial = crate::certificate::new_serial(now, random);
                tx.execute(
                    query("UPDATE certificate SET serial = $1 WHERE id = $2").bind(&serial).bind(certificate_id),
                )
                .await?;
                detail = format!("{old} → {serial}");
                records::change(tx, certificate_id, ChangeKind::LegalRepChanged, actor, None, now, random).await?;
                Some(claim)
            }
            ChangeRequest::FirstManager { .. } => {
                let current_rep = Person {
                    name: rep_name,
                    id_number: vault.open(Column::RepIdNumber.at(&institution_id), &rep_id)?,
                    mobile: vault.open(Column::RepMobile.at(&institution_id), &rep_mobile)?,
                };
                void_all(tx, certificate_id, VoidReason::FirstManagerChanged, now).await?;
                let claim =
                    replace_first_manager(tx, certificate_id, delegate.as_ref(), &current_rep, policy, now, random)
                        .await?;
                records::change(tx, certificate_id, ChangeKind::FirstManagerChanged, actor, None, now, random).await?;
                Some(claim)
            }
            ChangeRequest::Rename { .. } => {
                tx.execute(
                    query("UPDATE institution SET name = $1 WHERE id = $2")
                        .bind(name.as_deref().unwrap_or_default())
                        .bind(&institution_id),
                )
                .await?;
                records::change(tx, certificate_id, ChangeKind::Renamed, actor, None, now, random).await?;
                None
            }
            ChangeRequest::Mobile { .. } => {
                let fm: Option<String> = tx.fetch_optional(query("SELECT id FROM holder WHERE certificate_id = $1 AND role = 'first_manager' AND status <> 'removed'").bind(certificate_id)).await?;
                let fm = fm.ok_or(DomainError::InvalidState)?;
                tx.execute(
                    query("UPDATE holder SET mobile = $1 WHERE id = $2")
                        .bind(vault.seal(Column::HolderMobile.at(&fm), mobile.as_deref().unwrap_or_default()))
                        .bind(&fm),
                )
                .await?;
                records::change(tx, certificate_id, ChangeKind::MobileChanged, actor, Some(&fm), now, random).await?;
                None
            }
            ChangeRequest::Address { .. } => {
                let address = address.unwrap_or_default();
                let update =
                    query("UPDATE institution SET address = $1 WHERE id = $2").bind(&address).bind(&institution_id);
                tx.execute(update).await?;
                records::change(tx, certificate_id, ChangeKind::AddressChanged, actor, None, now, random).await?;
                detail = address;
                None
            }
            ChangeRequest::RepMobile { .. } => {
                let sealed = vault.seal(Column::RepMobile.at(&institution_id), mobile.as_deref().unwrap_or_default());
                let update = query("UPDATE institution SET legal_rep_mobile = $1 WHERE id = $2")
                    .bind(sealed)
                    .bind(&institution_id);
                tx.execute(update).await?;
                records::change(tx, certificate_id, ChangeKind::RepMobileChanged, actor, None, now, random).await?;
                None
            }
            ChangeRequest::Renew => {
                use crate::validity::{self, Validity};
                if validity::validity_at(expires_at, now) == Validity::Valid {
                    let opens = crate::time::format_day(validity::renewal_opens(expires_at));
                    return Err(DomainError::RenewalNotOpen { opens }.into());
                }
                let renewed = validity::renewed_expiry(expires_at, now, policy.validity_years);
                let update = query("UPDATE certificate SET expires_at = $1 WHERE id = $2 AND expires_at = $3")
                    .bind(renewed.0)
                    .bind(certificate_id)
                    .bind(expires_at);
                if tx.execute(update).await? != 1 {
                    return Err(DomainError::InvalidState.into());
                }
                records::change(tx, certificate_id, ChangeKind::Renewed, actor, None, now, random).await?;
                detail = format!("{} → {}", validity::last_day(expires_at), validity::last_day(renewed.0));
                None
            }
            ChangeRequest::NewDevice { .. } => {
                let sql = "SELECT id, status FROM holder WHERE certificate_id = $1 AND role = 'first_manager' AND status <> 'removed'";
                let fm: Option<(String, String)> = tx.fetch_optional(query(sql).bind(certificate_id)).await?;
                // A first manager who has not claimed yet gets a fresh claim code instead.
                let Some((fm, "active")) = fm.as_ref().map(|(id, s)| (id.as_str(), s.as_str())) else {
                    return Err(DomainError::InvalidState.into());
                };
                // R20: the new phone could not take up a lapsed certificate: renew it first.
                if expires_at <= now.0 {
                    return Err(DomainError::Expired { last_day: crate::validity::last_day(expires_at) }.into());
                }
                Some(
                    crate::holder::redownload_slip(tx, certificate_id, fm, actor, policy.claim_minutes, now, random)
                        .await?,
                )
            }
            ChangeRequest::Cancel | ChangeRequest::Delete => {
                let (status, kind) = if *request == ChangeRequest::Cancel {
                    (CertificateStatus::Cancelled, ChangeKind::Cancelled)
                } else {
                    (CertificateStatus::Deleted, ChangeKind::Deleted)
                };
                end_certificate(tx, certificate_id, status, now).await?;
                records::change(tx, certificate_id, kind, actor, None, now, random).await?;
                None
            }
        };
        let target = ("certificate", certificate_id);
        staff::record(tx, Some(staff), &staff.authority_id, action, target, &detail, now, random).await?;
        let filed = crate::archive::Filed {
            action,
            legal_rep: filed_persons.0,
            first_manager: filed_persons.1,
            identity_check,
            checklist,
            detail: &detail,
            filing: None,
        };
        crate::archive::write(tx, staff, certificate_id, filed, policy.archive_years, now, random).await?;
        Ok(claim)
    }
}
