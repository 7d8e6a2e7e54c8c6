//! The matters catalogue (授权事项) of an authority, kept by its administrators (issue 15 §2,
//! R22): add a matter, retire one. Managers grant only active matters (R6); a retired matter
//! stays on the grants that name it, readable as before, and is offered for no new grant.

use serde::{Deserialize, Serialize};

/// A matter as its authority's administrator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueLine {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub retired: bool,
    /// Grants in force today that name it.
    pub grants: i64,
}

/// Most matters one authority keeps (active and retired).
pub const MAX_MATTERS: i64 = 200;

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;

    use crate::error::{DomainError, Problem, Result};
    use crate::secret::Random;
    use crate::staff::{self, Duty, StaffView};
    use crate::store::{Db, is_unique_violation, query};
    use crate::time::{self, Millis};
    use crate::validate::{self, Checks};

    /// The administrator's authority's catalogue, active matters first, oldest first.
    pub async fn lines(db: &Db, admin: &StaffView, now: Millis) -> Result<Vec<CatalogueLine>> {
        if !admin.duties.has(Duty::Administer) {
            return Err(DomainError::Forbidden.into());
        }
        let today = time::format_day(time::today_cst(now));
        let rows: Vec<(String, String, String, String, i64)> = db
            .fetch_all(
                query(
                    "SELECT m.id, m.name_zh, m.name_en, m.status, \
                     (SELECT COUNT(*) FROM grant_matter gm JOIN holder_grant g ON g.id = gm.grant_id \
                      WHERE gm.matter_id = m.id AND g.status = 'active' AND g.end_day >= $2) \
                     FROM matter m WHERE m.authority_id = $1 \
                     ORDER BY CASE m.status WHEN 'active' THEN 0 ELSE 1 END, m.created_at, m.id",
                )
                .bind(&admin.authority_id)
                .bind(today),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name_zh, name_en, status, grants)| CatalogueLine {
                id,
                name_zh,
                name_en,
                retired: status == "retired",
                grants,
            })
            .collect())
    }

    /// Adds a matter to the administrator's authority's catalogue; answers its id. The Chinese
    /// name is unique in the catalogue (retired matters included: an old grant's name means one
    /// thing).
    pub async fn add(
        db: &Db,
        admin: &StaffView,
        name_zh: &str,
        name_en: &str,
        now: Millis,
        random: &Random,
    ) -> Result<String> {
        let mut checks = Checks::new();
        let zh = checks.take(validate::text("matter_name", name_zh, 30));
        let en = checks.take(validate::text("matter_name_en", name_en, 60));
        checks.finish()?;
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, admin, Duty::Administer).await?;
        let count: i64 = tx
            .fetch_one(query("SELECT COUNT(*) FROM matter WHERE authority_id = $1").bind(&admin.authority_id))
            .await?;
        if count >= MAX_MATTERS {
            return Err(DomainError::field("matter_name", Problem::OutOfRange).into());
        }
        let id = random.id();
        let inserted = tx
            .execute(
                query("INSERT INTO matter (id, authority_id, name_zh, name_en, status, created_at) VALUES ($1, $2, $3, $4, 'active', $5)")
                    .bind(&id)
                    .bind(&admin.authority_id)
                    .bind(&zh)
                    .bind(&en)
                    .bind(now.0),
            )
            .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(DomainError::AlreadyExists { field: "matter_name".into() }.into());
            }
            other => other?,
        };
        let detail = format!("{zh} / {en}");
        staff::record(&mut tx, Some(admin), &admin.authority_id, "matter_add", ("matter", &id), &detail, now, random)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Retires a matter of the administrator's authority: no new grant names it; the grants
    /// that do keep it. A matter of another authority is unknown here.
    pub async fn retire(db: &Db, admin: &StaffView, matter_id: &str, now: Millis, random: &Random) -> Result<()> {
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, admin, Duty::Administer).await?;
        let row: Option<(String, String)> = tx
            .fetch_optional(
                query("SELECT name_zh, status FROM matter WHERE id = $1 AND authority_id = $2")
                    .lock_rows()
                    .bind(matter_id)
                    .bind(&admin.authority_id),
            )
            .await?;
        let Some((name, status)) = row else {
            return Err(DomainError::NotFound.into());
        };
        if status != "active" {
            return Err(DomainError::InvalidState.into());
        }
        tx.execute(query("UPDATE matter SET status = 'retired' WHERE id = $1").bind(matter_id)).await?;
        staff::record(
            &mut tx,
            Some(admin),
            &admin.authority_id,
            "matter_retire",
            ("matter", matter_id),
            &name,
            now,
            random,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
