//! R12: change records, append-only. Nothing in the platform updates or deletes them.

use crate::error::Result;
use crate::on_tx;
use crate::secret::Random;
use crate::store::Tx;
use crate::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Issued,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Issued => "issued",
        }
    }
}

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
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO change_record (id, certificate_id, kind, actor_kind, actor_id, subject_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(random.id())
    .bind(certificate_id)
    .bind(kind.as_str())
    .bind(actor_kind)
    .bind(actor_id)
    .bind(subject_id)
    .bind(now.0)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}
