//! R9, R10: presenting the certificate, and verifying what is presented.
//!
//! A holder's wallet asks for a set (device signature and certificate password): a QR code, a
//! barcode and a numeric code, valid together for 5 minutes; asking again voids the previous set.
//! The QR carries a 256-bit token and opens the public verification page, which anyone may open.
//! The barcode and the numeric code carry the same 16-digit number: only a signed-in counter of a
//! registered relying party checks it, once, under a rate limit of failed checks (R10).
//!
//! Every check re-reads the certificate, the holder, the device and the grant, so cancellation,
//! removal and lapse take effect at once (R15). A code that fails for any reason gets the same
//! answer and no data (R9); a verified check writes a usage record (R12).
//!
//! A verifier must never learn more than R16 shows, and a failed check must not say why.

use serde::{Deserialize, Serialize};

use crate::holder::MatterView;

/// R9: life of a presented set, in minutes.
pub const PRESENT_MINUTES: i64 = 5;
/// Digits of the numeric code (and of the barcode, which carries the same number).
pub const NUMBER_DIGITS: usize = 16;
/// R10: failed numeric checks a counter may make per window before it must wait.
pub const NUMBER_FAILURES: i64 = 10;
pub const NUMBER_WINDOW_MINUTES: i64 = 10;

/// What a verifier sees of a valid presentation: the institution's certificate data and the
/// holder's role, identity and, for a user, the grant (R9). The holder's identity is masked on
/// the public page and a wallet's check (R16); a registered counter or party sees the full name
/// and the ID number's last four characters, to compare them with the ID card (R18).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedView {
    pub institution_name: String,
    pub credit_code: String,
    /// The institution's registered address.
    pub institution_address: String,
    pub serial: String,
    pub certificate_status: String,
    pub legal_rep_name: String,
    pub holder_name: String,
    pub holder_id_number: String,
    pub role: crate::holder::Role,
    /// The grant's matters and period, for a user; empty and `None` for managers.
    pub matters: Vec<MatterView>,
    pub start_day: Option<String>,
    pub end_day: Option<String>,
    /// When the presented set stops working.
    pub expires_at: i64,
    /// R18: the server's time of this check (epoch ms), shown with every result so that a
    /// picture of an old result cannot pass for a live one.
    pub checked_at: i64,
}

/// Who sees a verified presentation, and so how much of the holder's identity (R16, R18).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The public page and a wallet's check: name and ID number masked.
    Public,
    /// A registered relying party's counter or system: the full name, and the ID number's last
    /// four characters.
    Registered,
}

/// The numeric code as typed or scanned: white space (a scanner's tab or line end, an
/// ideographic space) and hyphens (ASCII or full-width) are dropped and full-width digits (a
/// Chinese input method's) read as digits; anything else than [`NUMBER_DIGITS`] digits is not a
/// numeric code.
pub fn normalize_number(input: &str) -> Option<String> {
    let digits: String = input
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '\u{ff0d}')))
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            other => other,
        })
        .collect();
    (digits.len() == NUMBER_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// `1234567890123456` → `1234 5678 9012 3456`, for reading aloud and typing.
pub fn format_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::device::{self, action};
    use crate::error::{DomainError, Problem, Result};
    use crate::holder::Role;
    use crate::mask;
    use crate::party::{CheckWindow, Client, CounterCaller};
    use crate::records::{self, Usage};
    use crate::seal::{Column, Vault};
    use crate::secret::{Random, Secret, token_hash};
    use crate::store::{Applied, Backend, Db, Query, ReadThen, Statement, Tx, Unit, query};
    use crate::time::{self, Millis};

    /// A new set, shown once: the QR token, the number, and when both stop working.
    #[derive(Debug)]
    pub struct Presented {
        pub qr_token: Secret,
        pub number: Secret,
        pub expires_at: Millis,
        pub grant_id: Option<String>,
    }

    /// What the wallet sends to present: a fresh device signature, the certificate password
    /// and, for a user with several grants in force, the grant to show.
    #[derive(Debug)]
    pub struct PresentRequest<'a> {
        pub device_id: &'a str,
        pub signed_at: i64,
        pub signature: &'a str,
        pub password: Secret,
        pub grant_id: Option<&'a str>,
    }

    /// R6: the grant a user presents: the one asked for, or the only one in force today.
    async fn grant_in_force(db: &Db, holder_id: &str, asked: Option<&str>, now: Millis) -> Result<String> {
        let today = time::format_day(time::today_cst(now));
        let ids: Vec<String> = db
            .fetch_all(
                query(concat!(
                    "SELECT id FROM holder_grant WHERE holder_id = $1 AND ",
                    crate::grant_in_force_sql!("holder_grant", "$2"),
                    " ORDER BY created_at, id"
                ))
                .bind(holder_id)
                .bind(&today),
            )
            .await?;
        match (asked, ids.as_slice()) {
            (Some(asked), _) => ids.iter().find(|id| *id == asked).cloned().ok_or_else(|| DomainError::Revoked.into()),
            (None, [only]) => Ok(only.clone()),
            // R17: a user without a grant in force presents nothing.
            (None, []) => Err(DomainError::NoGrantInForce.into()),
            (None, _) => Err(DomainError::field("grant_id", Problem::Required).into()),
        }
    }

    /// R9: makes a new set for the holder of a device, voiding the holder's previous one.
    pub async fn present(db: &Db, request: PresentRequest<'_>, now: Millis, random: &Random) -> Result<Presented> {
        if request.password.expose().is_empty() {
            return Err(DomainError::field("certificate_password", Problem::Required).into());
        }
        let bound =
            device::signed_fresh(db, request.device_id, action::PRESENT, request.signed_at, request.signature, now)
                .await?;
        device::check_password(db, request.device_id, request.password).await?;
        let grant_id = match bound.role {
            Role::User => Some(grant_in_force(db, &bound.holder_id, request.grant_id, now).await?),
            _ => None,
        };

        let mut tx = db.begin_write().await?;
        // The binding may have been removed since the signature was checked: R8 wins.
        let sql = concat!(
            "SELECT d.id FROM device d JOIN holder h ON h.id = d.holder_id JOIN certificate c ON c.id = h.certificate_id \
             WHERE d.id = $1 AND ",
            crate::binding_live_sql!("$2")
        );
        let live: Option<String> =
            tx.fetch_optional(query(sql).lock_rows_of("d").bind(request.device_id).bind(now.0)).await?;
        if live.is_none() {
            return Err(DomainError::Revoked.into());
        }
        // The whole previous set, its QR too, even when a counter has already used its number.
        tx.execute(
            query(
                "UPDATE presentation SET voided_at = $1 WHERE holder_id = $2 AND voided_at IS NULL AND expires_at > $1",
            )
            .bind(now)
            .bind(&bound.holder_id),
        )
        .await?;
        let number = fresh_number(&mut tx, now, random).await?;
        let qr_token = random.token();
        let expires_at = now.plus_minutes(PRESENT_MINUTES);
        tx.execute(query("INSERT INTO presentation (id, certificate_id, holder_id, device_id, grant_id, qr_hash, number_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)").bind(random.id()).bind(&bound.certificate_id).bind(&bound.holder_id).bind(request.device_id).bind(&grant_id).bind(token_hash(qr_token.expose())).bind(token_hash(number.expose())).bind(now.0).bind(expires_at.0)).await?;
        tx.commit().await?;
        Ok(Presented { qr_token, number, expires_at, grant_id })
    }

    /// A number no live set uses. With 10^16 numbers a clash is rare; the check makes it harmless.
    async fn fresh_number(tx: &mut Tx, now: Millis, random: &Random) -> Result<Secret> {
        for _ in 0..8 {
            let number = random.digits(NUMBER_DIGITS);
            let taken: Option<String> = tx
                .fetch_optional(
                    query(
                        "SELECT id FROM presentation WHERE number_hash = $1 AND expires_at > $2 AND voided_at IS NULL",
                    )
                    .bind(token_hash(number.expose()))
                    .bind(now.0),
                )
                .await?;
            if taken.is_none() {
                return Ok(number);
            }
        }
        Err(DomainError::RateLimited.into())
    }

    struct Row {
        id: String,
        certificate_id: String,
        holder_id: String,
        grant_id: Option<String>,
        expires_at: i64,
        institution_name: String,
        credit_code: String,
        institution_address: String,
        serial: String,
        legal_rep_name: String,
        holder_name: String,
        holder_id_number: String,
        role: crate::holder::Role,
        start_day: Option<String>,
        end_day: Option<String>,
        public_checked_at: Option<i64>,
    }
    crate::store::from_row!(Row {
        id,
        certificate_id,
        holder_id,
        grant_id,
        expires_at,
        institution_name,
        credit_code,
        institution_address,
        serial,
        legal_rep_name,
        holder_name,
        holder_id_number,
        role,
        start_day,
        end_day,
        public_checked_at
    });

    /// A live set by its QR or number hash: unexpired, not voided, and its certificate, holder,
    /// device and (for a user) grant all in force today (R6, R8, R15).
    fn live_select(key: &str, unused: bool) -> String {
        format!(
            "SELECT p.id, p.certificate_id, p.holder_id, p.grant_id, p.expires_at, i.name AS institution_name, \
             i.credit_code, i.address AS institution_address, c.serial, i.legal_rep_name, h.name AS holder_name, h.id_number AS holder_id_number, h.role, \
             g.start_day, g.end_day, p.public_checked_at, c.authority_id \
             FROM presentation p JOIN certificate c ON c.id = p.certificate_id JOIN institution i ON i.id = c.institution_id \
             JOIN holder h ON h.id = p.holder_id JOIN device d ON d.id = p.device_id \
             LEFT JOIN holder_grant g ON g.id = p.grant_id \
             WHERE p.{key} = $1 AND p.expires_at > $2 AND p.voided_at IS NULL{} \
             AND {live} \
             AND (p.grant_id IS NULL OR {})",
            if unused { " AND p.used_at IS NULL" } else { "" },
            crate::grant_in_force_sql!("g", "$3"),
            live = crate::binding_live_sql!("$2"),
        )
    }

    async fn matters(db: &Db, grant_id: &str) -> Result<Vec<MatterView>> {
        const SQL: &str = "SELECT m.id, m.name_zh, m.name_en FROM grant_matter gm JOIN matter m ON m.id = gm.matter_id \
             WHERE gm.grant_id = $1 ORDER BY m.created_at, m.id";
        let rows: Vec<(String, String, String)> = db.fetch_all(query(SQL).bind(grant_id).point_read()).await?;
        Ok(rows.into_iter().map(|(id, name_zh, name_en)| MatterView { id, name_zh, name_en }).collect())
    }

    fn view(
        row: Row,
        matters: Vec<MatterView>,
        vault: &Vault,
        audience: Audience,
        now: Millis,
    ) -> Result<VerifiedView> {
        let id_number = vault.open(Column::HolderIdNumber.at(&row.holder_id), &row.holder_id_number)?;
        let (holder_name, holder_id_number) = match audience {
            Audience::Public => (mask::person_name(&row.holder_name), mask::id_number(&id_number)),
            Audience::Registered => (row.holder_name, mask::id_number_last_four(&id_number)),
        };
        Ok(VerifiedView {
            institution_name: row.institution_name,
            credit_code: row.credit_code,
            institution_address: row.institution_address,
            serial: row.serial,
            certificate_status: "active".into(),
            legal_rep_name: mask::person_name(&row.legal_rep_name),
            holder_name,
            holder_id_number,
            role: row.role,
            matters,
            start_day: row.start_day,
            end_day: row.end_day,
            expires_at: row.expires_at,
            checked_at: now.0,
        })
    }

    /// Who checked a presentation, as its usage record names them (R12).
    #[derive(Clone, Copy)]
    enum Verifier<'a> {
        /// The public page, or a wallet's check.
        Public,
        Counter(&'a CounterCaller),
        /// A relying party's own system, through the API.
        Party(&'a Client),
    }

    /// R12: the usage record of a verified presentation.
    fn verified_record(row: &Row, by: Verifier<'_>, now: Millis, random: &Random) -> Query {
        let system = system_of(by);
        records::usage_statement(&verified_usage(row, by, &system), now, random)
    }

    /// How a usage record names who checked: the public page, "party · counter", or the party.
    fn system_of(by: Verifier<'_>) -> String {
        match by {
            Verifier::Public => records::PUBLIC_CHECK.to_owned(),
            Verifier::Counter(c) => c.label(),
            Verifier::Party(p) => p.name.clone(),
        }
    }

    /// What the usage record of a verified presentation says (R12), `system` as [`system_of`].
    fn verified_usage<'a>(row: &'a Row, by: Verifier<'a>, system: &'a str) -> Usage<'a> {
        Usage { certificate_id: &row.certificate_id, holder_id: Some(&row.holder_id), ..verified_usage_of(by, system) }
    }

    /// [`verified_usage`] without the set's certificate and holder, for a record that takes them
    /// from the set read in the same statement ([`records::usage_of_read_statement`]).
    fn verified_usage_of<'a>(by: Verifier<'a>, system: &'a str) -> Usage<'a> {
        let (party_id, counter_id) = match by {
            Verifier::Public => (None, None),
            Verifier::Counter(c) => (Some(c.party_id.as_str()), Some(c.counter_id.as_str())),
            Verifier::Party(p) => (Some(p.party_id.as_str()), None),
        };
        Usage {
            certificate_id: "",
            holder_id: None,
            kind: records::UsageKind::Present,
            system,
            result: records::VERIFIED,
            party_id,
            counter_id,
        }
    }

    /// The live set of a QR or number hash, read without a transaction: the single-use mark
    /// that follows a number's check re-checks what can change in between.
    async fn live(db: &Db, key: &str, unused: bool, hash: String, now: Millis) -> Result<Option<Row>> {
        Ok(db.fetch_optional(live_query(key, unused, hash, now)).await?)
    }

    /// At most one row, even if two live sets ever drew the same number (`fresh_number` makes
    /// that a chance of 10^-16 per pair): one set is checked, not an error.
    fn live_query(key: &str, unused: bool, hash: String, now: Millis) -> Query {
        let today = time::format_day(time::today_cst(now));
        query(live_select(key, unused) + " LIMIT 1").bind(hash).bind(now.0).bind(today).point_read()
    }

    /// The public checks of one presented set make at most one usage record a minute (issue 14
    /// §3): a QR photographed and opened a thousand times is a few records, not a thousand.
    pub const PUBLIC_RECORD_EVERY_MS: i64 = Millis::MINUTE;

    /// R10: the public check of a presented QR: anyone, no sign-in. The token has 256 bits, so
    /// it needs no rate limit; the page may be opened again while the set lives. R12: the first
    /// check of each minute is recorded, and every check answers only once that record is
    /// committed.
    pub async fn verify_qr(db: &Db, token: &str, now: Millis, random: &Random) -> Result<VerifiedView> {
        let token = token.trim();
        if token.is_empty() || token.len() > 64 {
            return Err(DomainError::PresentationInvalid.into());
        }
        let row = live(db, "qr_hash", false, token_hash(token), now).await?.ok_or(DomainError::PresentationInvalid)?;
        let matters = match &row.grant_id {
            Some(g) => matters(db, g).await?,
            None => Vec::new(),
        };
        // R12: the check answers only once its minute's record is committed (grouped with
        // others'). The mark is a compare-and-set: of concurrent first checks one records, the
        // others find it done (the unit stops) and answer after it.
        let recorded = row.public_checked_at.is_some_and(|t| t > now.0 - PUBLIC_RECORD_EVERY_MS);
        if !recorded {
            let mark = query(
                "UPDATE presentation SET public_checked_at = $1 WHERE id = $2 \
                 AND (public_checked_at IS NULL OR public_checked_at <= $3)",
            )
            .bind(now.0)
            .bind(&row.id)
            .bind(now.0 - PUBLIC_RECORD_EVERY_MS)
            .must_change();
            db.write(Unit::new([mark, verified_record(&row, Verifier::Public, now, random).into()]).independent())
                .await?;
        }
        view(row, matters, db.vault(), Audience::Public, now)
    }

    /// The window of failed tries in `row` (a table's alias and a dot, or nothing) has a try left
    /// at `$2` (now): it ended (it lasts `length`) or it spent fewer than `tries`.
    macro_rules! try_left {
        ($row:literal, $length:literal, $tries:literal) => {
            concat!("(", $row, "window_start + ", $length, " <= $2 OR ", $row, "window_failures < ", $tries, ")")
        };
    }

    macro_rules! spend_try {
        () => {
            concat!(
                "window_failures = CASE WHEN window_start + $1 > $2 THEN window_failures + 1 ELSE 1 END, \
                 window_start = CASE WHEN window_start + $1 > $2 THEN window_start ELSE $2 END \
                 WHERE id = $3 AND ",
                try_left!("", "$1", "$4")
            )
        };
    }

    /// R9: marks the set `$set` used (`$1` now): single use, and still live (a refresh may have
    /// voided it since it was read).
    macro_rules! mark_used {
        ($set:literal) => {
            concat!(
                "UPDATE presentation SET used_at = $1 WHERE id = ",
                $set,
                " AND used_at IS NULL AND voided_at IS NULL AND expires_at > $1"
            )
        };
    }

    /// A counter's row (in a statement on `counter`) while it and its party are active: the
    /// party by its key, one index lookup whatever the number of parties.
    macro_rules! counter_active {
        () => {
            "status = 'active' AND EXISTS (SELECT 1 FROM relying_party p WHERE p.id = counter.party_id AND p.status = 'active')"
        };
    }

    /// Matches the checker's row `id` while its window has a try left; `$1` the window's
    /// length, `$2` now.
    macro_rules! has_try {
        ($id:literal, $tries:literal) => {
            concat!("window_failures = window_failures WHERE id = ", $id, " AND ", try_left!("", "$1", $tries))
        };
    }

    /// R10: failed numeric checks a relying party's own system may make per window through the
    /// API (issue 18 §2). One system serves all the party's counters, so it has more tries than
    /// one counter; a 16-digit number is still one chance in 10^16 per try.
    pub const PARTY_NUMBER_FAILURES: i64 = 100;

    /// Who checks numbers under a window of failed tries: a counter, (issue 16 §8) a bound
    /// wallet, or (issue 18 §2) a relying party's system. Each table carries `window_start` and
    /// `window_failures`.
    #[derive(Clone, Copy)]
    enum Checker {
        Counter,
        Wallet,
        Party,
    }

    impl Checker {
        /// Spends one try of the checker's window, starting a new window when the last one
        /// ended; changes nothing when the window's tries are spent. `$1` window length, `$2`
        /// now, `$3` the checker's id, `$4` tries per window. A counter and its party, or a
        /// party, must be active too: one suspended while its request ran is refused in the
        /// writer's order (R12: the caller re-checked in the unit that records).
        fn spend_try(self) -> &'static str {
            match self {
                Checker::Counter => concat!("UPDATE counter SET ", spend_try!(), " AND ", counter_active!()),
                Checker::Wallet => concat!("UPDATE device SET ", spend_try!()),
                Checker::Party => concat!("UPDATE relying_party SET ", spend_try!(), " AND status = 'active'"),
            }
        }

        /// Matches the checker's row, changing nothing, while its window has a try left (a
        /// verified check spends none); the same parameters as [`Checker::spend_try`].
        fn has_try(self) -> &'static str {
            match self {
                Checker::Counter => concat!("UPDATE counter SET ", has_try!("$3", "$4"), " AND ", counter_active!()),
                Checker::Wallet => concat!("UPDATE device SET ", has_try!("$3", "$4")),
                Checker::Party => concat!("UPDATE relying_party SET ", has_try!("$3", "$4"), " AND status = 'active'"),
            }
        }

        /// The checker's window; no row (a counter or party suspended) is "unauthenticated".
        fn table(self) -> &'static str {
            match self {
                Checker::Counter => {
                    concat!("SELECT window_start, window_failures FROM counter WHERE id = $1 AND ", counter_active!())
                }
                Checker::Wallet => "SELECT window_start, window_failures FROM device WHERE id = $1",
                Checker::Party => {
                    "SELECT window_start, window_failures FROM relying_party WHERE id = $1 AND status = 'active'"
                }
            }
        }

        /// Failed tries per window.
        fn tries(self) -> i64 {
            match self {
                Checker::Counter | Checker::Wallet => NUMBER_FAILURES,
                Checker::Party => PARTY_NUMBER_FAILURES,
            }
        }
    }

    /// The window of `checker` `id` before anything is looked up: a shortcut that spares a spent
    /// checker the lookup and the write (the compare-and-sets decide, in the writer's order).
    async fn window_open(db: &Db, checker: Checker, id: &str, now: Millis) -> Result<()> {
        let limit: Option<(i64, i64)> = db.fetch_optional(query(checker.table()).bind(id).point_read()).await?;
        let (start, failures) = limit.ok_or(DomainError::Unauthenticated)?;
        window_left(checker, CheckWindow { start, failures }, now)
    }

    /// "Rate limited" when `window`, as read, has no try left at `now`.
    fn window_left(checker: Checker, window: CheckWindow, now: Millis) -> Result<()> {
        if window.start + NUMBER_WINDOW_MINUTES * Millis::MINUTE > now.0 && window.failures >= checker.tries() {
            return Err(DomainError::RateLimited.into());
        }
        Ok(())
    }

    /// A failed check: one try spent, or "rate limited" when the window had none left (for a
    /// party, "unauthenticated" when it was suspended meanwhile).
    async fn failed_check(db: &Db, checker: Checker, id: &str, now: Millis) -> Result<VerifiedView> {
        let spend = in_window(checker, checker.spend_try(), id, now).must_change();
        match db.write(Unit::new([spend])).await? {
            Applied::Stopped(_) => Err(no_try_left(db, checker, id, now).await),
            Applied::Done(_) => Err(DomainError::PresentationInvalid.into()),
        }
    }

    /// Why the writer found no try left: the window spent, or (a counter, a party) no longer
    /// active.
    async fn no_try_left(db: &Db, checker: Checker, id: &str, now: Millis) -> crate::Error {
        match checker {
            Checker::Wallet => DomainError::RateLimited.into(),
            Checker::Counter | Checker::Party => match window_open(db, checker, id, now).await {
                Err(e) => e,
                Ok(()) => DomainError::RateLimited.into(),
            },
        }
    }

    /// `sql` with its window parameters bound: `$1` the window's length, `$2` now, `$3` the
    /// checker, `$4` the tries a window allows.
    fn in_window(checker: Checker, sql: &str, id: &str, now: Millis) -> Query {
        query(sql).bind(NUMBER_WINDOW_MINUTES * Millis::MINUTE).bind(now).bind(id).bind(checker.tries())
    }

    /// R9, R10: a counter checks a numeric code (typed, or scanned from the barcode). A valid
    /// code works once. Failed checks count against the counter: after [`NUMBER_FAILURES`] in
    /// [`NUMBER_WINDOW_MINUTES`] minutes it must wait for the window to end. R18: the counter
    /// sees the holder's full name and the ID number's last four characters.
    pub async fn verify_number(
        db: &Db,
        counter: &CounterCaller,
        input: &str,
        now: Millis,
        random: &Random,
    ) -> Result<VerifiedView> {
        let Some(number) = normalize_number(input) else {
            // A typing slip, not a guess: nothing is looked up and no try is spent.
            return Err(DomainError::field("code", Problem::BadFormat).into());
        };
        // The window as the counter's session read it: no read of its own on the hot path.
        window_left(Checker::Counter, counter.window, now)?;
        let checker = (Checker::Counter, counter.counter_id.as_str(), Verifier::Counter(counter));
        check_number_once(db, checker, &number, now, random).await
    }

    /// [`verify_number`] for the counter signed in with session `token` (the verifier page's
    /// cookie): "unauthenticated" when no live session of an active counter and party has it.
    ///
    /// On PostgreSQL the session's read, the live set's read and the unit that uses the set are
    /// one statement (issue 17 §2: one round trip where the guard's read and the check were
    /// two). The statement's read is the session with the set it finds (`LEFT JOIN LATERAL`,
    /// looked up only while the counter's window, as read, has a try left) and a gate,
    /// `ecert_go`: a set was found.
    /// Only then do its writes change anything, each naming the counter and the set as that row
    /// has them, and the compare-and-set on the counter's row still decides in the writer's
    /// order. With the gate shut nothing is written and the answer comes from the row: "rate
    /// limited" when the window is spent, whether the number is live or not (the set is not
    /// even looked up, so a spent counter learns nothing from how long the answer takes), else
    /// the failure is spent as before. On
    /// SQLite the session is read and then [`verify_number`] runs.
    pub async fn verify_number_signed_in(
        db: &Db,
        token: &str,
        input: &str,
        now: Millis,
        random: &Random,
    ) -> Result<VerifiedView> {
        let Some(number) = normalize_number(input).filter(|_| db.backend() == Backend::Postgres) else {
            // SQLite, or a typing slip (which spends no try, after the session is checked).
            let counter = signed_in(db, token, now).await?;
            return verify_number(db, &counter, input, now, random).await;
        };
        let checker = Checker::Counter;
        let (read, unit) = signed_in_check(&number, token, now, random);
        let checked = match db.read_then_write_if::<SignedInCheck>(&read, Some("ecert_go"), &unit).await? {
            ReadThen::Missing => return Err(DomainError::Unauthenticated.into()),
            ReadThen::Done(checked) => checked,
            // Concurrent failures spent the window's last tries first (statement 0), or another
            // check used the set or it was voided since the read (1): as in `check_number_once`,
            // with the counter read again (the statement answered no row).
            ReadThen::Stopped(at) => {
                let counter = signed_in(db, token, now).await?;
                let id = counter.counter_id.as_str();
                return match at {
                    0 => Err(no_try_left(db, checker, id, now).await),
                    _ => failed_check(db, checker, id, now).await,
                };
            }
        };
        let row = match checked.set {
            Some(row) => row,
            None => {
                window_left(checker, checked.counter.window, now)?;
                return failed_check(db, checker, &checked.counter.counter_id, now).await;
            }
        };
        let matters = match &row.grant_id {
            Some(g) => matters(db, g).await?,
            None => Vec::new(),
        };
        view(row, matters, db.vault(), Audience::Registered, now)
    }

    /// The read and the unit [`verify_number_signed_in`] sends as one statement (gate
    /// `ecert_go`) for the normalized `number` and the session `token`. Public for
    /// `benches/compose.rs`, which composes the statement a counter's check sends.
    #[doc(hidden)]
    pub fn signed_in_check(number: &str, token: &str, now: Millis, random: &Random) -> (Query, [Statement; 3]) {
        let window = NUMBER_WINDOW_MINUTES * Millis::MINUTE;
        let checker = Checker::Counter;
        let read = query(signed_in_read())
            .bind(token_hash(number))
            .bind(now.0)
            .bind(time::format_day(time::today_cst(now)))
            .bind(token_hash(token))
            .bind(window)
            .bind(checker.tries());
        const HAS_TRY: &str = concat!(
            "UPDATE counter SET ",
            has_try!("(SELECT counter_id FROM ecert_read WHERE ecert_go)", "$3"),
            " AND ",
            counter_active!()
        );
        let unit = [
            query(HAS_TRY).bind(window).bind(now).bind(checker.tries()).must_change(),
            query(mark_used!("(SELECT id FROM ecert_read WHERE ecert_go)")).bind(now).must_change(),
            records::counter_usage_of_read_statement(records::UsageKind::Present, records::VERIFIED, now, random)
                .into(),
        ];
        (read, unit)
    }

    /// The counter of a live session `token`, or "unauthenticated".
    async fn signed_in(db: &Db, token: &str, now: Millis) -> Result<CounterCaller> {
        crate::party::current(db, token, now).await?.ok_or_else(|| DomainError::Unauthenticated.into())
    }

    /// The read of [`verify_number_signed_in`]'s statement: the counter's session
    /// ([`crate::party::current`]'s columns), the unused live set of the number if there is one
    /// and the counter's window, as read, has a try left (its columns as [`live_select`] names
    /// them, all null otherwise), and the gate `ecert_go`: that set was found.
    /// `$1` the number's hash, `$2` now, `$3` today, `$4` the session token's hash, `$5` the
    /// window's length, `$6` the tries a window allows.
    fn signed_in_read() -> &'static str {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            // The window is a condition of the lateral read, not of the gate alone: PostgreSQL
            // then skips the set's lookup when it is spent (a one-time filter), so that a live
            // number and a dead one cost a spent counter the same.
            crate::party::session_select(
                ", x.*, x.id IS NOT NULL AS ecert_go",
                &format!(
                    " LEFT JOIN LATERAL ({} AND {} LIMIT 1) x ON true",
                    live_select("number_hash", true),
                    try_left!("k.", "$5", "$6")
                ),
                "$4",
                "$2",
            )
        });
        SQL.as_str()
    }

    /// A row of [`signed_in_read`]: the gate `ecert_go` is open exactly when `set` is there.
    struct SignedInCheck {
        counter: CounterCaller,
        set: Option<Row>,
    }

    impl crate::store::FromRow for SignedInCheck {
        fn from_row(row: &mut crate::store::Row<'_>) -> std::result::Result<Self, sqlx::Error> {
            let counter = CounterCaller::from_row(row)?;
            let set = match row.named::<Option<String>>("id")? {
                Some(_) => Some(Row::from_row(row)?),
                None => None,
            };
            Ok(SignedInCheck { counter, set })
        }
    }

    /// A numeric code (normalized) checked once by a registered checker (a counter, or a
    /// party's system).
    ///
    /// No answer is given until the checker's row says, in the writer's order, that its window
    /// had a try left: a failure spends the try in the same compare-and-set
    /// ([`Checker::spend_try`]), a verified check marks the set used in the unit that checks the
    /// window ([`Checker::has_try`]). So concurrent guesses can never learn the outcome of more
    /// numbers than the limit allows, whatever order their lookups ran in; the ones past it are
    /// told only "rate limited".
    async fn check_number_once(
        db: &Db,
        (checker, id, by): (Checker, &str, Verifier<'_>),
        number: &str,
        now: Millis,
        random: &Random,
    ) -> Result<VerifiedView> {
        let row = match use_number(db, (checker, id, by), number, now, random).await? {
            ReadThen::Done(row) => row,
            ReadThen::Missing => return failed_check(db, checker, id, now).await,
            // Statement 0, `has_try`: concurrent failures spent the window's last tries first.
            ReadThen::Stopped(0) => return Err(no_try_left(db, checker, id, now).await),
            // Another check used it first, or it was voided: this check failed.
            ReadThen::Stopped(_) => return failed_check(db, checker, id, now).await,
        };
        let matters = match &row.grant_id {
            Some(g) => matters(db, g).await?,
            None => Vec::new(),
        };
        view(row, matters, db.vault(), Audience::Registered, now)
    }

    /// The unused live set of `number`, marked used with its usage record in the unit that
    /// checks the checker's window (statement 0). On PostgreSQL the read and the unit are one
    /// statement, whose writes name the set as the read found it (`ecert_read`); on SQLite, the
    /// read and then the unit.
    ///
    /// A refusal once the window is spent costs the server a little less for a live number (no
    /// failure to spend) than for a dead one. That difference is there only for checks already
    /// in flight when the window fills: each later request is refused by the window it read
    /// before any lookup ([`verify_number`] by the session's read, [`window_open`]; on
    /// PostgreSQL the verifier page's check, [`verify_number_signed_in`], reads the window in
    /// the same statement and skips the lookup when it is spent).
    async fn use_number(
        db: &Db,
        (checker, id, by): (Checker, &str, Verifier<'_>),
        number: &str,
        now: Millis,
        random: &Random,
    ) -> Result<ReadThen<Row>> {
        let read = live_query("number_hash", true, token_hash(number), now);
        if db.backend() == Backend::Postgres {
            let system = system_of(by);
            let folded = [
                in_window(checker, &format!("{} AND EXISTS (SELECT 1 FROM ecert_read)", checker.has_try()), id, now)
                    .must_change(),
                query(mark_used!("(SELECT id FROM ecert_read)")).bind(now).must_change(),
                records::usage_of_read_statement(&verified_usage_of(by, &system), now, random).into(),
            ];
            return Ok(db.read_then_write(&read, &folded).await?);
        }
        let Some(row) = db.fetch_optional::<Row>(read).await? else { return Ok(ReadThen::Missing) };
        let unit = Unit::new([
            in_window(checker, checker.has_try(), id, now).must_change(),
            query(mark_used!("$2")).bind(now).bind(&row.id).must_change(),
            verified_record(&row, by, now, random).into(),
        ])
        .independent();
        Ok(match db.write(unit).await? {
            Applied::Done(_) => ReadThen::Done(row),
            Applied::Stopped(at) => ReadThen::Stopped(at),
        })
    }

    /// The longest text a party may send as presented (a QR's link is well under it).
    pub const PRESENTED_MAX: usize = 512;

    /// The QR token in what a scanner read from a presented QR: the verification link it
    /// opens (`…/check?t=<token>`), or the token alone; `None` when it holds no well-formed one.
    pub fn qr_token_of(scanned: &str) -> Option<&str> {
        let scanned = scanned.trim();
        let token = match scanned.split_once('?') {
            Some((_, query)) => query.split('&').find_map(|pair| pair.strip_prefix("t="))?,
            None => scanned,
        };
        // A 256-bit token is 43 characters of unpadded base64url (`Random::token`).
        let well_formed =
            token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        well_formed.then_some(token)
    }

    /// Issue 18 §2 (R9–R12, R18): a registered relying party's own system checks what a holder
    /// presented: the numeric code (typed, or the barcode's content) or what its scanner read
    /// from the QR (the link, or the token). It sees what its counters see: the full name and
    /// the ID number's last four characters.
    ///
    /// A number works once and failures count against the party's window
    /// ([`PARTY_NUMBER_FAILURES`] per [`NUMBER_WINDOW_MINUTES`] minutes, in the writer's order).
    /// A QR may be checked again while its set lives, as on the public page, and every check is
    /// recorded with the party (R12): its 256-bit token needs no window. A party suspended while
    /// the request ran gets no data: the write re-checks it.
    pub async fn verify_for_party(
        db: &Db,
        party: &Client,
        presented: &str,
        now: Millis,
        random: &Random,
    ) -> Result<VerifiedView> {
        let id = party.party_id.as_str();
        if presented.chars().count() > PRESENTED_MAX {
            return Err(DomainError::field("code", Problem::TooLong { max: PRESENTED_MAX }).into());
        }
        if let Some(number) = normalize_number(presented) {
            window_open(db, Checker::Party, id, now).await?;
            return check_number_once(db, (Checker::Party, id, Verifier::Party(party)), &number, now, random).await;
        }
        let Some(token) = qr_token_of(presented) else {
            return Err(DomainError::field("code", Problem::BadFormat).into());
        };
        let row = live(db, "qr_hash", false, token_hash(token), now).await?.ok_or(DomainError::PresentationInvalid)?;
        // R12: recorded while the party is active (re-checked in the statement that records), at
        // most once a minute per party and holder, as the public page records a set: a system
        // that checks one QR again and again does not fill the holder's records.
        let system = system_of(Verifier::Party(party));
        let usage = verified_usage(&row, Verifier::Party(party), &system);
        let record = records::party_usage_statement(&usage, now, random, PUBLIC_RECORD_EVERY_MS);
        let written = db.write(Unit::new([record.into()])).await?;
        if matches!(&written, Applied::Done(changed) if changed.first() == Some(&0)) {
            // Not written: recorded this minute already, or the party was suspended since.
            window_open(db, Checker::Party, id, now).await?;
        }
        let matters = match &row.grant_id {
            Some(g) => matters(db, g).await?,
            None => Vec::new(),
        };
        view(row, matters, db.vault(), Audience::Registered, now)
    }

    /// Issue 16 §8 (seed 000: 扫一扫 checks a presented QR or barcode without logging in): a
    /// bound wallet checks a number scanned from a barcode (or typed) and sees what the public
    /// page shows of its set (R10). The device signs the number and the time
    /// (`action::CHECK_NUMBER`); failed checks count against the device like a counter's
    /// ([`NUMBER_FAILURES`] per [`NUMBER_WINDOW_MINUTES`] minutes, decided in the writer's
    /// order). Like the public QR check it does not use the number up — the counter it was
    /// presented to still checks it — and it records at most one public check a minute (R12).
    pub async fn check_number_by_wallet(
        db: &Db,
        device_id: &str,
        (signed_at, signature): (i64, &str),
        input: &str,
        now: Millis,
        random: &Random,
    ) -> Result<VerifiedView> {
        let Some(number) = normalize_number(input) else {
            return Err(DomainError::field("code", Problem::BadFormat).into());
        };
        device::signed_fresh_over(db, device_id, action::CHECK_NUMBER, &number, signed_at, signature, now).await?;
        window_open(db, Checker::Wallet, device_id, now).await?;
        let Some(row) = live(db, "number_hash", false, token_hash(&number), now).await? else {
            return failed_check(db, Checker::Wallet, device_id, now).await;
        };
        let mut statements = vec![in_window(Checker::Wallet, Checker::Wallet.has_try(), device_id, now).must_change()];
        let recorded = row.public_checked_at.is_some_and(|t| t > now.0 - PUBLIC_RECORD_EVERY_MS);
        if !recorded {
            statements.push(
                query(
                    "UPDATE presentation SET public_checked_at = $1 WHERE id = $2 \
                     AND (public_checked_at IS NULL OR public_checked_at <= $3)",
                )
                .bind(now.0)
                .bind(&row.id)
                .bind(now.0 - PUBLIC_RECORD_EVERY_MS)
                .must_change(),
            );
            statements.push(verified_record(&row, Verifier::Public, now, random).into());
        }
        match db.write(Unit::new(statements).independent()).await? {
            Applied::Done(_) => {}
            Applied::Stopped(0) => return Err(DomainError::RateLimited.into()),
            // Another check recorded this minute first: this one answers after it.
            Applied::Stopped(_) => {}
        }
        let matters = match &row.grant_id {
            Some(g) => matters(db, g).await?,
            None => Vec::new(),
        };
        view(row, matters, db.vault(), Audience::Public, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "server")]
    #[test]
    fn a_qr_token_is_read_from_its_link_or_alone() {
        let token = "Tq7Wm1xR4bK9vZ2cN8dP5sL0hJ3gF6yA_eU-oI7tQwE";
        assert_eq!(qr_token_of(token), Some(token));
        assert_eq!(qr_token_of(&format!(" https://ecert.example.cn/check?t={token} ")), Some(token));
        assert_eq!(qr_token_of(&format!("https://ecert.example.cn/check?lang=en&t={token}")), Some(token));
        assert_eq!(qr_token_of("https://ecert.example.cn/check?x=1"), None, "no token in the link");
        assert_eq!(qr_token_of(&token[1..]), None, "too short");
        assert_eq!(qr_token_of(&format!("{}!", &token[1..])), None, "not base64url");
        assert_eq!(qr_token_of("12345"), None);
    }

    #[test]
    fn numbers_are_sixteen_digits_with_spaces_and_hyphens_allowed() {
        assert_eq!(normalize_number("1234 5678 9012 3456").as_deref(), Some("1234567890123456"));
        assert_eq!(normalize_number("1234-5678-9012-3456").as_deref(), Some("1234567890123456"));
        assert_eq!(
            normalize_number("\t1234\u{ff0d}5678\u{a0}9012 3456\r\n").as_deref(),
            Some("1234567890123456"),
            "a scanner's suffix, a no-break space, a full-width hyphen"
        );
        assert_eq!(normalize_number("123456789012345"), None, "15 digits");
        assert_eq!(normalize_number("12345678901234567"), None, "17 digits");
        assert_eq!(normalize_number("123456789012345a"), None, "a letter");
        assert_eq!(
            normalize_number("１２３４ ５６７８ ９０１２ ３４５６").as_deref(),
            Some("1234567890123456"),
            "full-width"
        );
        assert_eq!(normalize_number("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦"), None, "other scripts' digits");
        assert_eq!(format_number("1234567890123456"), "1234 5678 9012 3456");
    }
}
