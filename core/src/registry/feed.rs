//! Issue 18 §3: the directory change feed for provincial platforms (seed 002: the certificate
//! directory shared with the provincial licence library).
//!
//! Every issuance, change of the registration data, renewal, cancellation and deletion appends a
//! [`DirectoryEvent`] — the certificate's state after it — in the transaction that makes it
//! ([`crate::records::change`] calls [`append`]). Its `seq` is the cursor: it only grows, and
//! events become visible in its order, so a subscriber that has seen `seq` N has seen every
//! event up to N and asks for what follows (`after=N`) after any absence.
//!
//! A subscriber is a relying party that an administrator of its authority subscribed; it sees
//! the events of its authority's subtree only. It pulls pages (`GET /api/v1/directory/events`,
//! signed by the platform's directory key) and, when it has a webhook URL, receives the same
//! pages pushed to it in order ([`deliver_due`]), signed as the Standard Webhooks convention
//! says, at least once each, retried with backoff for as long as it takes.

use serde::{Deserialize, Serialize};

/// One event of the feed: what happened to a certificate, and the certificate and its
/// institution as they stood after it (the legal representative's name masked, R16).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEvent {
    /// The cursor: strictly increasing, never reused.
    pub seq: i64,
    /// `issued`, `renamed`, `address_changed`, `legal_rep_changed` (a new serial), `renewed`,
    /// `cancelled`, `deleted`, or `snapshot` (a certificate as it stood when the feed began).
    pub kind: String,
    /// When it happened (epoch milliseconds).
    pub at: i64,
    pub credit_code: String,
    pub name: String,
    pub address: String,
    /// Masked (R16): `张*`.
    pub legal_rep_name: String,
    pub authority_name: String,
    pub certificate_serial: String,
    /// `active`, `cancelled` or `deleted`; an active certificate past `valid_until` fails every
    /// check (R20).
    pub certificate_status: String,
    pub issued_at: i64,
    /// The last day of validity (`YYYY-MM-DD`, China Standard Time).
    pub valid_until: String,
}

/// A page of the feed for one subscriber.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<DirectoryEvent>,
    /// What to ask for next (`after`): every event up to it has been read or was not the
    /// subscriber's. It may run ahead of the last event shown, past other authorities' events.
    pub next_after: i64,
    /// Whether more events may follow at once (the page was full).
    pub more: bool,
}

/// A relying party's subscription as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionView {
    /// `None`: pull only.
    pub webhook_url: Option<String>,
    /// How far the webhook got.
    pub delivered_seq: i64,
    /// Failed attempts since the last delivery.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
}

/// Events of a page unless the caller asks for fewer, and the most it may ask for.
pub const PAGE_DEFAULT: i64 = 100;
pub const PAGE_MAX: i64 = 500;
/// Events of one webhook delivery.
pub const WEBHOOK_BATCH: i64 = 100;
/// Longest webhook URL, in characters.
pub const WEBHOOK_URL_MAX: usize = 500;
/// How often a running server delivers the webhooks that are due.
pub const DELIVER_EVERY_MILLIS: u64 = 1_000;

/// Checks a webhook URL: absolute `http://` (the platform calls out through a local gateway
/// that terminates TLS, as it does for the identity service and the SMS gateway), a host, no
/// user info, no fragment, no spaces, at most [`WEBHOOK_URL_MAX`] characters.
pub fn check_webhook_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if !authority.ends_with(']') && p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    // Never the cloud metadata service (link-local) nor "any address".
    let reserved = host.starts_with("169.254.")
        || host.starts_with("fe80:")
        || host.starts_with("0.")
        || matches!(host.as_str(), "0" | "0.0.0.0" | "::" | "metadata" | "metadata.google.internal");
    !reserved
        && url.chars().count() <= WEBHOOK_URL_MAX
        && !authority.is_empty()
        && !authority.starts_with(':')
        && !authority.contains('@')
        && !url.contains('#')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The wait before the next attempt after `attempts` failed ones: 5 s, 10 s, 20 s, … up to an
/// hour. A subscriber is never given up: the feed waits for it.
pub fn backoff_millis(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    (5_000_i64.saturating_mul(1_i64 << doublings)).min(3_600_000)
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::changes::ChangeKind;
    use crate::error::{DomainError, FieldError, Problem, Result};
    use crate::party::ShownOnce;
    use crate::seal::Column;
    use crate::secret::Random;
    use crate::staff::{self, Duty, StaffView};
    use crate::store::{Db, Tx, from_row, query};
    use crate::time::Millis;

    /// The Standard Webhooks signature of a message: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
    /// where `key` is the secret's bytes (the base64 after `whsec_`).
    pub fn webhook_signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
        use base64::Engine;
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// The key bytes of a `whsec_…` secret.
    pub fn webhook_key(secret: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_")?).ok()
    }

    /// Whether a change of `kind` changes what the directory shows of a certificate.
    pub fn in_directory(kind: ChangeKind) -> bool {
        matches!(
            kind,
            ChangeKind::Issued
                | ChangeKind::Renamed
                | ChangeKind::AddressChanged
                | ChangeKind::LegalRepChanged
                | ChangeKind::Renewed
                | ChangeKind::Cancelled
                | ChangeKind::Deleted
        )
    }

    /// The PostgreSQL advisory lock that orders the feed's appends (an arbitrary constant).
    const APPEND_LOCK: i64 = 0x0e_ce27_d1ec;

    /// Appends the event of `kind` for `certificate_id`, its state read in the caller's
    /// transaction (after the change). On PostgreSQL a transaction-scoped advisory lock is taken
    /// first, so that events take their `seq` in the order they commit: a reader never sees N+1
    /// before N (SQLite has one writer). An advisory lock, not `LOCK TABLE`: vacuum and analyze
    /// of the table never wait for it nor make a change wait. It orders every directory change
    /// of the country for the rest of its transaction, which is short: a change of a
    /// certificate is a staff action, thousands a day.
    pub async fn append(tx: &mut Tx, certificate_id: &str, kind: ChangeKind, now: Millis) -> Result<()> {
        if tx.backend() == crate::store::Backend::Postgres {
            tx.execute(query("SELECT pg_advisory_xact_lock($1)").bind(APPEND_LOCK)).await?;
        }
        let row: Option<Current> = tx
            .fetch_optional(
                query(
                    "SELECT i.authority_id, i.credit_code, i.name, i.address, i.legal_rep_name, a.name AS authority_name, \
                     c.serial, c.status, c.issued_at, c.expires_at \
                     FROM certificate c JOIN institution i ON i.id = c.institution_id JOIN authority a ON a.id = i.authority_id \
                     WHERE c.id = $1",
                )
                .bind(certificate_id),
            )
            .await?;
        let c = row.ok_or(DomainError::NotFound)?;
        tx.execute(
            query(
                "INSERT INTO directory_event (kind, certificate_id, authority_id, credit_code, name, address, legal_rep_name, \
                 authority_name, serial, status, issued_at, expires_at, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(kind)
            .bind(certificate_id)
            .bind(&c.authority_id)
            .bind(&c.credit_code)
            .bind(&c.name)
            .bind(&c.address)
            .bind(crate::mask::person_name(&c.legal_rep_name))
            .bind(&c.authority_name)
            .bind(&c.serial)
            .bind(&c.status)
            .bind(c.issued_at)
            .bind(c.expires_at)
            .bind(now.0),
        )
        .await?;
        Ok(())
    }

    /// A certificate and its institution as [`append`] reads them.
    struct Current {
        authority_id: String,
        credit_code: String,
        name: String,
        address: String,
        legal_rep_name: String,
        authority_name: String,
        serial: String,
        status: String,
        issued_at: i64,
        expires_at: i64,
    }
    from_row!(Current {
        authority_id,
        credit_code,
        name,
        address,
        legal_rep_name,
        authority_name,
        serial,
        status,
        issued_at,
        expires_at
    });

    /// An event as stored.
    struct EventRow {
        seq: i64,
        kind: String,
        at: i64,
        credit_code: String,
        name: String,
        address: String,
        legal_rep_name: String,
        authority_name: String,
        serial: String,
        status: String,
        issued_at: i64,
        expires_at: i64,
    }
    from_row!(EventRow {
        seq,
        kind,
        at,
        credit_code,
        name,
        address,
        legal_rep_name,
        authority_name,
        serial,
        status,
        issued_at,
        expires_at
    });

    impl EventRow {
        fn event(self) -> DirectoryEvent {
            DirectoryEvent {
                seq: self.seq,
                kind: self.kind,
                at: self.at,
                credit_code: self.credit_code,
                name: self.name,
                address: self.address,
                legal_rep_name: self.legal_rep_name,
                authority_name: self.authority_name,
                certificate_serial: self.serial,
                certificate_status: self.status,
                issued_at: self.issued_at,
                valid_until: crate::validity::last_day(self.expires_at),
            }
        }
    }

    /// The events after `after` of the subtree of `authority_id`, at most `limit`. Every event
    /// up to the newest seen before the read is either on the page or not the subtree's, so
    /// a page that is not full moves the cursor to that newest one.
    async fn page(db: &Db, authority_id: &str, after: i64, limit: i64) -> Result<EventPage> {
        let newest: Option<i64> = db.fetch_one(query("SELECT MAX(seq) FROM directory_event")).await?;
        let newest = newest.unwrap_or(0);
        if after > newest {
            // A cursor the feed never gave: following it would skip what comes next.
            return Err(DomainError::field("after", Problem::OutOfRange).into());
        }
        let sql = format!(
            "{} SELECT e.seq, e.kind, e.at, e.credit_code, e.name, e.address, e.legal_rep_name, e.authority_name, \
             e.serial, e.status, e.issued_at, e.expires_at FROM directory_event e \
             WHERE e.seq > $2 AND e.seq <= $3 AND e.authority_id IN (SELECT id FROM sub) ORDER BY e.seq LIMIT $4",
            crate::stats::SUBTREE
        );
        let rows: Vec<EventRow> =
            db.fetch_all(query(&sql).bind(authority_id).bind(after).bind(newest).bind(limit)).await?;
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limit;
        let next_after = match rows.last() {
            Some(last) if full => last.seq,
            _ => newest.max(after),
        };
        Ok(EventPage { events: rows.into_iter().map(EventRow::event).collect(), next_after, more: full })
    }

    /// The authority of a subscribed relying party; `Forbidden` for a party that is not one.
    async fn subscriber_authority(db: &Db, party_id: &str) -> Result<String> {
        let row: Option<String> = db
            .fetch_optional(
                query(
                    "SELECT p.authority_id FROM relying_party p JOIN directory_subscriber s ON s.id = p.id \
                     WHERE p.id = $1 AND p.status = 'active'",
                )
                .bind(party_id),
            )
            .await?;
        row.ok_or_else(|| DomainError::Forbidden.into())
    }

    /// `GET /api/v1/directory/events`: the page after `after` for the subscribed party
    /// `party_id` (authenticated by the caller), of at most `limit` events (default
    /// [`PAGE_DEFAULT`], at most [`PAGE_MAX`]).
    pub async fn events(db: &Db, party_id: &str, after: i64, limit: Option<i64>) -> Result<EventPage> {
        let limit = limit.unwrap_or(PAGE_DEFAULT);
        if !(1..=PAGE_MAX).contains(&limit) {
            return Err(DomainError::field("limit", Problem::OutOfRange).into());
        }
        if after < 0 {
            return Err(DomainError::field("after", Problem::OutOfRange).into());
        }
        let authority_id = subscriber_authority(db, party_id).await?;
        page(db, &authority_id, after, limit).await
    }

    /// Subscribes a relying party of the administrator's authority to the feed, or changes its
    /// webhook. With a URL, a new webhook secret is made and answered, shown once; the webhook
    /// starts from the first event (the whole directory of the subtree) on a new subscription,
    /// and goes on from where it was on a changed one. Without one, the party pulls only.
    pub async fn subscribe(
        db: &Db,
        staff: &StaffView,
        party_id: &str,
        webhook_url: Option<&str>,
        now: Millis,
        random: &Random,
    ) -> Result<Option<ShownOnce>> {
        let url = webhook_url.map(str::trim).filter(|u| !u.is_empty());
        if url.is_some_and(|u| !check_webhook_url(u)) {
            return Err(DomainError::Validation(vec![FieldError::new("webhook_url", Problem::BadFormat)]).into());
        }
        let secret = url.map(|_| {
            use base64::Engine;
            let mut key = [0u8; 32];
            random.fill(&mut key);
            format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
        });
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Administer).await?;
        let (name, _, _) = crate::party::own_party(&mut tx, staff, party_id).await?;
        let sealed = secret.as_deref().map(|s| tx.vault().seal(Column::WebhookSecret.at(party_id), s));
        tx.execute(
            query(
                "INSERT INTO directory_subscriber (id, webhook_url, webhook_secret, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET webhook_url = $2, webhook_secret = $3, attempts = 0, next_attempt_at = 0, \
                 last_error = NULL",
            )
            .bind(party_id)
            .bind(url)
            .bind(sealed)
            .bind(now.0),
        )
        .await?;
        let detail = format!("{name}: {}", url.unwrap_or("pull"));
        let target = ("party", party_id);
        staff::record(&mut tx, Some(staff), &staff.authority_id, "directory_subscribe", target, &detail, now, random)
            .await?;
        tx.commit().await?;
        Ok(secret.map(|secret| ShownOnce { login: party_id.to_owned(), secret }))
    }

    /// Ends a party's subscription: it pulls nothing more and its webhook stops.
    pub async fn unsubscribe(db: &Db, staff: &StaffView, party_id: &str, now: Millis, random: &Random) -> Result<()> {
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Administer).await?;
        let (name, _, _) = crate::party::own_party(&mut tx, staff, party_id).await?;
        if tx.execute(query("DELETE FROM directory_subscriber WHERE id = $1").bind(party_id)).await? == 0 {
            return Err(DomainError::NotFound.into());
        }
        let target = ("party", party_id);
        staff::record(&mut tx, Some(staff), &staff.authority_id, "directory_unsubscribe", target, &name, now, random)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    struct SubscriptionRow {
        id: String,
        webhook_url: Option<String>,
        delivered_seq: i64,
        attempts: i64,
        last_error: Option<String>,
        next_attempt_at: i64,
        delivered_at: Option<i64>,
    }
    from_row!(SubscriptionRow { id, webhook_url, delivered_seq, attempts, last_error, next_attempt_at, delivered_at });

    /// The subscriptions of the parties of the staff member's authority, by party id.
    pub async fn subscriptions(db: &Db, staff: &StaffView) -> Result<Vec<(String, SubscriptionView)>> {
        let rows: Vec<SubscriptionRow> = db
            .fetch_all(
                query(
                    "SELECT s.id, s.webhook_url, s.delivered_seq, s.attempts, s.last_error, s.next_attempt_at, s.delivered_at \
                     FROM directory_subscriber s JOIN relying_party p ON p.id = s.id WHERE p.authority_id = $1",
                )
                .bind(&staff.authority_id),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let view = SubscriptionView {
                    webhook_url: r.webhook_url,
                    delivered_seq: r.delivered_seq,
                    attempts: r.attempts,
                    last_error: r.last_error,
                    next_attempt_at: r.next_attempt_at,
                    delivered_at: r.delivered_at,
                };
                (r.id, view)
            })
            .collect())
    }

    /// How long an attempt holds a subscriber beyond the webhook's timeout, and how long beyond
    /// it an attempt may run before it is abandoned (half that: app servers' clocks are kept
    /// within seconds of each other by NTP, as the deployment guide asks).
    const LEASE_MARGIN_MILLIS: i64 = 15_000;
    const ATTEMPT_MARGIN: std::time::Duration = std::time::Duration::from_millis(7_500);

    /// Where and how the platform pushes: the timeout of one delivery.
    #[derive(Clone, Copy, Debug)]
    pub struct Pusher {
        pub timeout: std::time::Duration,
    }

    impl Default for Pusher {
        fn default() -> Self {
            Pusher { timeout: std::time::Duration::from_secs(10) }
        }
    }

    /// What one round of [`deliver_due`] did.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Round {
        /// Pages the subscribers took.
        pub delivered: usize,
        /// Attempts that failed (tried again after [`backoff_millis`]).
        pub failed: usize,
    }

    /// Pushes to every subscriber whose webhook is due and behind, page after page while it
    /// takes them (at most `max_pages` pages in all), each at the time `clock` reads when its turn
    /// comes. Every app server may run it: a lease on the subscriber keeps two from pushing to
    /// one at once, so pages go out in order. Failures are kept for staff and tried again later;
    /// only the database's own errors are returned.
    pub async fn deliver_due(db: &Db, pusher: &Pusher, max_pages: usize, clock: impl Fn() -> Millis) -> Result<Round> {
        let mut round = Round::default();
        while round.delivered + round.failed < max_pages {
            let now = clock();
            let due: Vec<(String, i64)> = db
                .fetch_all(
                    query(
                        "SELECT s.id, s.delivered_seq FROM directory_subscriber s JOIN relying_party p ON p.id = s.id \
                         WHERE s.webhook_url IS NOT NULL AND p.status = 'active' AND s.next_attempt_at <= $1 \
                         AND s.lease_until <= $1 AND EXISTS (SELECT 1 FROM directory_event e WHERE e.seq > s.delivered_seq) \
                         ORDER BY s.next_attempt_at, s.id LIMIT 50",
                    )
                    .bind(now.0),
                )
                .await?;
            if due.is_empty() {
                break;
            }
            for (party_id, delivered) in due {
                if round.delivered + round.failed >= max_pages {
                    break;
                }
                // The whole attempt ends well within its lease (the exchange has its own timeout
                // too), so no other app server can take the subscriber while this one may still
                // send: pages go out one at a time, in order. An attempt abandoned or failed on
                // the platform's side is tried again once the lease ends.
                let limit = pusher.timeout + ATTEMPT_MARGIN;
                match tokio::time::timeout(limit, push_one(db, pusher, &party_id, delivered, clock())).await {
                    Ok(Ok(Some(true))) => round.delivered += 1,
                    Ok(Ok(Some(false))) => round.failed += 1,
                    Ok(Ok(None)) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(party = %party_id, %error, "directory webhook attempt failed on the platform's side");
                        round.failed += 1;
                    }
                    Err(_) => {
                        tracing::warn!(party = %party_id, "directory webhook attempt abandoned: it outlived its lease");
                        round.failed += 1;
                    }
                }
            }
        }
        Ok(round)
    }

    /// One page to one subscriber, under a lease taken first: `Some(true)` delivered (or
    /// skipped past other authorities' events), `Some(false)` failed, `None` when another app
    /// server holds it or its cursor moved.
    async fn push_one(db: &Db, pusher: &Pusher, party_id: &str, delivered: i64, now: Millis) -> Result<Option<bool>> {
        let timeout = i64::try_from(pusher.timeout.as_millis()).unwrap_or(i64::MAX / 4);
        let lease = now.0.saturating_add(timeout).saturating_add(LEASE_MARGIN_MILLIS);
        type Taken = (String, String, i64);
        let taken: Option<Taken> = db
            .fetch_optional(
                query(
                    "UPDATE directory_subscriber SET lease_until = $3 \
                     WHERE id = $1 AND delivered_seq = $2 AND lease_until <= $4 AND webhook_url IS NOT NULL \
                     RETURNING webhook_url, webhook_secret, attempts",
                )
                .bind(party_id)
                .bind(delivered)
                .bind(lease)
                .bind(now.0),
            )
            .await?;
        let Some((url, sealed, attempts)) = taken else { return Ok(None) };
        let authority: Option<String> =
            db.fetch_optional(query("SELECT authority_id FROM relying_party WHERE id = $1").bind(party_id)).await?;
        let authority_id = authority.ok_or(DomainError::NotFound)?;
        // What follows writes only while this attempt still holds the lease it took.
        let held = |sql: &str| query(sql).bind(party_id).bind(lease);
        let page = page(db, &authority_id, delivered, WEBHOOK_BATCH).await?;
        let outcome = if page.events.is_empty() {
            Ok(())
        } else {
            let secret = db.vault().open(Column::WebhookSecret.at(party_id), &sealed)?;
            push(pusher, &url, &secret, party_id, delivered, &page, now).await
        };
        match outcome {
            Ok(()) => {
                db.execute(
                    held(
                        "UPDATE directory_subscriber SET delivered_seq = $3, attempts = 0, last_error = NULL, \
                         next_attempt_at = 0, lease_until = 0, delivered_at = $4 WHERE id = $1 AND lease_until = $2",
                    )
                    .bind(page.next_after)
                    .bind(now.0),
                )
                .await?;
                Ok(Some(true))
            }
            Err(reason) => {
                let reason: String = reason.chars().take(300).collect();
                tracing::warn!(party = %party_id, attempts = attempts + 1, %reason, "directory webhook not delivered");
                db.execute(
                    held(
                        "UPDATE directory_subscriber SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4, \
                         lease_until = 0 WHERE id = $1 AND lease_until = $2",
                    )
                    .bind(reason)
                    .bind(now.0.saturating_add(backoff_millis(attempts + 1))),
                )
                .await?;
                Ok(Some(false))
            }
        }
    }

    /// `POST` of one page: `{"type": "directory.events", "timestamp": …, "data": {page}}` with the
    /// Standard Webhooks headers; a `2xx` answer is delivery.
    async fn push(
        pusher: &Pusher,
        url: &str,
        secret: &str,
        party_id: &str,
        after: i64,
        page: &EventPage,
        now: Millis,
    ) -> std::result::Result<(), String> {
        let key = webhook_key(secret).ok_or("the stored webhook secret does not decode")?;
        // The same on every try from this cursor (a retry may carry more events than the first).
        let id = format!("dir_{party_id}_{after}");
        let timestamp = now.0.div_euclid(1000);
        let body = serde_json::json!({
            "type": "directory.events",
            "timestamp": crate::time::format_rfc3339_cst(now),
            "data": page,
        })
        .to_string();
        let signature = webhook_signature(&key, &id, timestamp, &body);
        let timestamp = timestamp.to_string();
        let headers =
            [("webhook-id", id.as_str()), ("webhook-timestamp", timestamp.as_str()), ("webhook-signature", &signature)];
        let (status, _) = crate::registry::outbound::post_json(url, &headers, body, pusher.timeout).await?;
        if status.is_success() {
            Ok(())
        } else {
            // Only the status: what the address answers is not shown to staff, whatever it is.
            Err(format!("the subscriber answered {}", status.as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_plain_http_with_a_host() {
        assert!(check_webhook_url("http://10.1.2.3:8080/hooks/ecert"));
        assert!(check_webhook_url("http://licences.gov.local/hook?x=1"));
        assert!(!check_webhook_url("https://licences.gov.cn/hook"), "TLS is the local gateway's");
        assert!(!check_webhook_url("http:///hook"), "no host");
        assert!(!check_webhook_url("http://:80/hook"), "no host");
        assert!(!check_webhook_url("http://u:p@host/hook"), "user info");
        assert!(!check_webhook_url("http://host/hook#x"), "fragment");
        assert!(!check_webhook_url("http://host/a b"), "space");
        assert!(!check_webhook_url(&format!("http://host/{}", "a".repeat(WEBHOOK_URL_MAX))), "too long");
        assert!(!check_webhook_url("http://169.254.169.254/latest/meta-data"), "link-local metadata");
        assert!(!check_webhook_url("http://[fe80::1]:80/x"), "link-local IPv6");
        assert!(!check_webhook_url("http://0.0.0.0:8080/x"), "any address");
        assert!(check_webhook_url("http://[fd00::1]:8080/hook"), "a private gateway is what it is for");
    }

    #[test]
    fn backoff_doubles_from_five_seconds_to_an_hour() {
        assert_eq!(backoff_millis(1), 5_000);
        assert_eq!(backoff_millis(2), 10_000);
        assert_eq!(backoff_millis(3), 20_000);
        assert_eq!(backoff_millis(10), 2_560_000);
        assert_eq!(backoff_millis(11), 3_600_000);
        assert_eq!(backoff_millis(1_000), 3_600_000);
    }

    #[cfg(feature = "server")]
    #[test]
    fn the_signature_follows_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification (its secret, id, timestamp and body).
        let key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            webhook_signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(webhook_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_none(), "the prefix is part of it");
    }
}
