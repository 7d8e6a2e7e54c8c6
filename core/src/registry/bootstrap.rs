//! First start: the first registration authority and its staff administrator.

use crate::error::Result;
use crate::secret::{self, Random, Secret};
use crate::store::Db;
use crate::time::Millis;
use crate::validate::{self, Checks};
use crate::{store::query, validate::text};

/// What the operator configured for the first start.
#[derive(Clone, Debug)]
pub struct FirstStart {
    pub authority_name: String,
    /// 6-digit administrative division code (GB/T 2260) of the authority.
    pub region_code: String,
    pub admin_username: String,
    /// `None`: generate one and report it once.
    pub admin_password: Option<Secret>,
}

/// What the first start created. The generated password is shown to the operator once and
/// stored nowhere but as an argon2id hash.
#[derive(Debug)]
pub struct FirstStartReport {
    pub authority_id: String,
    pub admin_username: String,
    pub generated_password: Option<Secret>,
}

/// Creates the first authority and its administrator unless an authority exists already.
/// Safe to run on every start and from several app servers at once.
pub async fn ensure_first_authority(
    db: &Db,
    request: &FirstStart,
    now: Millis,
    random: &Random,
) -> Result<Option<FirstStartReport>> {
    let mut checks = Checks::new();
    let authority_name = checks.take(text("authority_name", &request.authority_name, 100));
    let username = checks.take(validate::username("username", &request.admin_username));
    let region_code = checks.take(validate::region_code("region_code", &request.region_code));
    if let Some(password) = &request.admin_password {
        checks.take(validate::new_password("password", password.expose()));
    }
    checks.finish()?;

    let password = request.admin_password.clone().unwrap_or_else(|| random.password());
    let password_hash = secret::hash_password(password.clone(), random).await?;

    let mut tx = db.begin_write().await?;
    // Serialise concurrent first starts of several app servers.
    tx.lock_table("authority").await?;
    let existing: i64 = tx.fetch_one(query("SELECT COUNT(*) FROM authority")).await?;
    if existing > 0 {
        return Ok(None);
    }
    let authority_id = random.id();
    // The level follows the code: a province may run its own installation (R22).
    let level = crate::authority::Level::of_region(&region_code);
    tx.execute(query("INSERT INTO authority (id, name, level, parent_id, region_code, created_at) VALUES ($1, $2, $3, NULL, $4, $5)").bind(&authority_id).bind(&authority_name).bind(level.as_str()).bind(&region_code).bind(now.0)).await?;
    // The first administrator operates too, so that a new installation can issue at once.
    let duties = crate::staff::Duties { administer: true, operate: true, audit: false };
    let staff_id =
        crate::staff::insert(&mut tx, &authority_id, &username, &username, &password_hash, duties, now, random).await?;
    crate::holder::seed_catalogue(&mut tx, &authority_id, now).await?;
    crate::staff::record(&mut tx, None, &authority_id, "staff_add", ("staff", &staff_id), &username, now, random)
        .await?;
    tx.commit().await?;
    Ok(Some(FirstStartReport {
        authority_id,
        admin_username: username,
        generated_password: request.admin_password.is_none().then_some(password),
    }))
}
