//! R12: change records, append-only. Nothing in the platform updates or deletes them. Those
//! that change the directory are events of its feed too (`feed`, issue 18 §3).

use crate::error::Result;
use crate::secret::Random;
use crate::store::{Query, Tx, query};
use crate::time::Millis;

pub use crate::changes::ChangeKind;
pub use crate::usage::UsageKind;

/// Who made a change.
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    Staff(&'a str),
    Holder(&'a str),
}

pub async fn change(
    tx: &mut Tx,
    certificate_id: &str,
    kind: ChangeKind,
    actor: Actor<'_>,
    subject_id: Option<&str>,
    now: Millis,
    random: &Random,
) -> Result<()> {
    let (actor_kind, actor_id) = match actor {
        Actor::Staff(id) => ("staff", id),
        Actor::Holder(id) => ("holder", id),
    };
    tx.execute(query("INSERT INTO change_record (id, certificate_id, kind, actor_kind, actor_id, subject_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)").bind(random.id()).bind(certificate_id).bind(kind).bind(actor_kind).bind(actor_id).bind(subject_id).bind(now.0)).await?;
    // Issue 18 §3: what changes the directory is an event of its feed, in the same transaction.
    if crate::feed::in_directory(kind) {
        crate::feed::append(tx, certificate_id, kind, now).await?;
    }
    Ok(())
}

/// Kinds and results of usage records.
pub const VERIFIED: &str = "verified";
/// The `system` of a presentation checked on the public page (R10).
pub const PUBLIC_CHECK: &str = "public";

/// R12: one usage record: what was done with which holder's certificate, for which system (and,
/// where one was involved, which relying party and counter), with what result.
///
/// Every id must come from the row it names, read in the same request (a live set's
/// certificate and holder, a signed-in counter and its party), never from what a caller sent:
/// on PostgreSQL the table has no foreign keys to refuse one that names nothing (migration
/// 0036), and such a record would drop out of the usage lists and the statistics unnoticed.
#[derive(Clone, Copy, Debug)]
pub struct Usage<'a> {
    pub certificate_id: &'a str,
    pub holder_id: Option<&'a str>,
    pub kind: UsageKind,
    pub system: &'a str,
    pub result: &'a str,
    pub party_id: Option<&'a str>,
    pub counter_id: Option<&'a str>,
}

/// The start of every usage record's insert: the table and its columns, in the order the
/// statements below give their values.
macro_rules! insert_usage {
    () => {
        "INSERT INTO usage_record (id, certificate_id, holder_id, kind, system, result, at, party_id, counter_id, authority_id) "
    };
}

/// The record carries its certificate's authority for the statistics (issue 15 §3).
const INSERT_USAGE: &str = concat!(
    insert_usage!(),
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT c.authority_id FROM certificate c WHERE c.id = $2))"
);

/// R12 for a relying party's own system (issue 18 §2): the usage record of its check, written
/// only while the party is active (`usage.party_id`) and only when the party recorded no check
/// of the same holder in the last `every_ms` — one statement, so that the re-check of the party
/// and the record are one step in the writer's order. It changes no row when either stops it.
pub fn party_usage_statement(usage: &Usage<'_>, now: Millis, random: &Random, every_ms: i64) -> Query {
    let sql = concat!(
        insert_usage!(),
        "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT c.authority_id FROM certificate c WHERE c.id = $2) \
         WHERE EXISTS (SELECT 1 FROM relying_party p WHERE p.id = $8 AND p.status = 'active') \
         AND NOT EXISTS (SELECT 1 FROM usage_record r WHERE r.holder_id = $3 AND r.at > $10 AND r.party_id = $8 AND r.kind = $4)"
    );
    usage_values(query(sql), usage, now, random).bind(now.0 - every_ms)
}

/// R12 on PostgreSQL, in one statement with the read of a set ([`crate::store::Db::read_then_write`]):
/// the usage record of the set `ecert_read` found, its certificate, holder and the
/// certificate's authority taken from that row (`certificate_id`, `holder_id`,
/// `authority_id`) and not from `usage`; no record when the read found none.
pub fn usage_of_read_statement(usage: &Usage<'_>, now: Millis, random: &Random) -> Query {
    let sql = concat!(
        insert_usage!(),
        "SELECT $1, r.certificate_id, r.holder_id, $2, $3, $4, $5, $6, $7, r.authority_id FROM ecert_read r"
    );
    what_by_whom(query(sql).bind(random.ordered_id(now)), usage, now)
}

/// R12 on PostgreSQL for a counter's check read with its session in the same statement
/// ([`crate::store::Db::read_then_write_if`]): the record of the set `ecert_read` found, written
/// only when the read's gate `ecert_go` is open. Everything but the kind and the result comes
/// from that row: the set's certificate, holder and authority, the counter and its party
/// (`counter_id`, `party_id`), and the counter's label ("party · counter",
/// [`crate::party::CounterCaller::label`]) from `party_name` and `counter_name`.
pub fn counter_usage_of_read_statement(kind: UsageKind, result: &str, now: Millis, random: &Random) -> Query {
    let sql = concat!(
        insert_usage!(),
        "SELECT $1, r.certificate_id, r.holder_id, $2, r.party_name || $3 || r.counter_name, $4, $5, r.party_id, \
         r.counter_id, r.authority_id FROM ecert_read r WHERE r.ecert_go"
    );
    query(sql).bind(random.ordered_id(now)).bind(kind).bind(crate::party::LABEL_SEPARATOR).bind(result).bind(now)
}

/// R12: writes a usage record inside the caller's transaction; records are append-only.
pub async fn record_usage(tx: &mut Tx, usage: &Usage<'_>, now: Millis, random: &Random) -> Result<()> {
    tx.execute(usage_statement(usage, now, random)).await?;
    Ok(())
}

/// R12: a usage record as a statement: of a [`crate::store::Unit`] for [`crate::store::Db::write`],
/// or run in a transaction by [`record_usage`].
pub fn usage_statement(usage: &Usage<'_>, now: Millis, random: &Random) -> Query {
    usage_values(query(INSERT_USAGE), usage, now, random)
}

/// `$1` to `$9` of a usage record's insert: a new id, then the record's columns in their order.
fn usage_values(q: Query, usage: &Usage<'_>, now: Millis, random: &Random) -> Query {
    let q = q.bind(random.ordered_id(now)).bind(usage.certificate_id).bind(usage.holder_id);
    what_by_whom(q, usage, now)
}

/// The record's columns after its certificate and holder, in their order: kind, system,
/// result, time, party and counter.
fn what_by_whom(q: Query, usage: &Usage<'_>, now: Millis) -> Query {
    q.bind(usage.kind).bind(usage.system).bind(usage.result).bind(now).bind(usage.party_id).bind(usage.counter_id)
}

/// R12: a usage record (a login, a signature, a verified presentation), append-only.
#[allow(clippy::too_many_arguments)]
pub async fn usage(
    tx: &mut Tx,
    certificate_id: &str,
    holder_id: Option<&str>,
    kind: UsageKind,
    system: &str,
    result: &str,
    now: Millis,
    random: &Random,
) -> Result<()> {
    let usage = Usage { certificate_id, holder_id, kind, system, result, party_id: None, counter_id: None };
    record_usage(tx, &usage, now, random).await
}
