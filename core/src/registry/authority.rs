//! Registration authorities at every level (分级管理, issue 15 §1, R22): national → province →
//! prefecture → county, each named by its administrative division code (GB/T 2260). A higher
//! authority creates the ones below it with their first administrator; a certificate is issued
//! by the authority whose division holds the institution's credit code.

use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Problem};
use crate::i18n::Lang;

/// The level of an authority, read off its division code: `100000` is the nation, `XX0000` a
/// province, `XXYY00` a prefecture, anything else a county.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    National,
    Provincial,
    Municipal,
    County,
}

/// The code of the nation as a whole in this platform's use of GB/T 2260.
pub const NATIONAL_CODE: &str = "100000";

impl Level {
    /// The level a (well-formed) six-digit division code names.
    pub fn of_region(code: &str) -> Level {
        if code == NATIONAL_CODE {
            Level::National
        } else if code.ends_with("0000") {
            Level::Provincial
        } else if code.ends_with("00") {
            Level::Municipal
        } else {
            Level::County
        }
    }

    /// The name stored in the `authority.level` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::National => "national",
            Level::Provincial => "provincial",
            Level::Municipal => "municipal",
            Level::County => "county",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        [Level::National, Level::Provincial, Level::Municipal, Level::County].into_iter().find(|l| l.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Level::National => lang.pick("国家级", "National"),
            Level::Provincial => lang.pick("省级", "Provincial"),
            Level::Municipal => lang.pick("地市级", "Prefecture"),
            Level::County => lang.pick("县级", "County"),
        }
    }

    /// How many leading digits of a division code this level's own code fixes.
    fn fixed_digits(self) -> usize {
        match self {
            Level::National => 0,
            Level::Provincial => 2,
            Level::Municipal => 4,
            Level::County => 6,
        }
    }
}

/// True when `division` (six digits) lies in the area of the authority whose code is `region`.
pub fn covers(region: &str, division: &str) -> bool {
    let n = Level::of_region(region).fixed_digits();
    region.len() == 6 && division.len() == 6 && region.as_bytes()[..n] == division.as_bytes()[..n]
}

/// The registration division of a public institution's credit code (GB 32100: `1` registered by
/// 机构编制, `2` a public institution, then six digits of division), checked to lie under the
/// authority coded `region`. The code itself was already checked (`validate::credit_code`).
pub fn institution_division(field: &str, credit_code: &str, region: &str) -> Result<String, FieldError> {
    if !credit_code.starts_with("12") {
        return Err(FieldError::new(field, Problem::NotPublicInstitution));
    }
    let division = credit_code.get(2..8).unwrap_or_default();
    if !covers(region, division) {
        return Err(FieldError::new(field, Problem::OutsideDivision));
    }
    Ok(division.to_owned())
}

/// A new authority under `parent` (coded `parent_region`): its code must name a lower level and
/// lie in the parent's area.
pub fn check_child_region(field: &str, parent_region: &str, code: &str) -> Result<Level, FieldError> {
    let level = Level::of_region(code);
    if level <= Level::of_region(parent_region) || !covers(parent_region, code) {
        return Err(FieldError::new(field, Problem::OutsideDivision));
    }
    Ok(level)
}

/// An authority as the console lists it: no personal data, only counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityView {
    pub id: String,
    pub name: String,
    pub level: Level,
    pub region_code: String,
    pub parent_id: Option<String>,
    pub staff: i64,
    pub certificates: i64,
    pub created_at: i64,
}

/// What an administrator fills in to create an authority below their own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuthority {
    pub name: String,
    pub region_code: String,
    pub admin_username: String,
    pub admin_display_name: String,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;

    use crate::error::{DomainError, Result};
    use crate::secret::{self, Random, Secret};
    use crate::staff::{self, Duty, StaffView};
    use crate::store::{Db, Tx, query};
    use crate::time::Millis;
    use crate::validate::{self, Checks};

    /// The authority made and its first administrator's password, shown once.
    #[derive(Debug)]
    pub struct Created {
        pub authority_id: String,
        pub admin_username: String,
        pub admin_password: Secret,
    }

    /// Creates an authority directly or further below `admin`'s own, with its matters catalogue
    /// and a first administrator whose generated password is answered once (R22). Recorded in
    /// both authorities' staff action logs.
    pub async fn create_child(
        db: &Db,
        admin: &StaffView,
        request: &NewAuthority,
        now: Millis,
        random: &Random,
    ) -> Result<Created> {
        // Refused before a password is hashed; the duty is read again inside the write.
        if !admin.duties.administer {
            return Err(DomainError::Forbidden.into());
        }
        let mut checks = Checks::new();
        let name = checks.take(validate::text("authority_name", &request.name, 100));
        let region = checks.take(
            validate::region_code("region_code", &request.region_code)
                .and_then(|code| check_child_region("region_code", &admin.authority_region, &code).map(|_| code)),
        );
        let username = checks.take(validate::username("username", &request.admin_username));
        let display = checks.take(validate::person_name("person_name", &request.admin_display_name));
        checks.finish()?;
        let level = Level::of_region(&region);
        let password = random.password();
        let hash = secret::hash_password(password.clone(), random).await?;

        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, admin, Duty::Administer).await?;
        let id = insert(&mut tx, &admin.authority_id, &name, &region, level, now, random).await?;
        let duties = staff::Duties { administer: true, operate: false, audit: false };
        let admin_id = staff::insert(&mut tx, &id, &username, &display, &hash, duties, now, random).await?;
        let detail = format!("{name} ({region}); {username}");
        staff::record(
            &mut tx,
            Some(admin),
            &admin.authority_id,
            "authority_create",
            ("authority", &id),
            &detail,
            now,
            random,
        )
        .await?;
        staff::record(&mut tx, Some(admin), &id, "staff_add", ("staff", &admin_id), &username, now, random).await?;
        tx.commit().await?;
        Ok(Created { authority_id: id, admin_username: username, admin_password: password })
    }

    /// Inserts an authority below `parent_id` with its matters catalogue. The parent's row is
    /// locked first, so two creations of one division cannot both pass the check.
    async fn insert(
        tx: &mut Tx,
        parent_id: &str,
        name: &str,
        region: &str,
        level: Level,
        now: Millis,
        random: &Random,
    ) -> Result<String> {
        let parent: Option<String> =
            tx.fetch_optional(query("SELECT id FROM authority WHERE id = $1").lock_rows().bind(parent_id)).await?;
        parent.ok_or(DomainError::NotFound)?;
        let taken: Option<String> =
            tx.fetch_optional(query("SELECT id FROM authority WHERE region_code = $1").bind(region)).await?;
        if taken.is_some() {
            return Err(DomainError::AlreadyExists { field: "region_code".into() }.into());
        }
        let id = random.id();
        tx.execute(
            query("INSERT INTO authority (id, name, level, parent_id, region_code, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&id)
                .bind(name)
                .bind(level.as_str())
                .bind(parent_id)
                .bind(region)
                .bind(now.0),
        )
        .await?;
        crate::holder::seed_catalogue(tx, &id, now).await?;
        Ok(id)
    }

    struct Row {
        id: String,
        name: String,
        level: String,
        region_code: String,
        parent_id: Option<String>,
        staff: i64,
        certificates: i64,
        created_at: i64,
    }
    crate::store::from_row!(Row { id, name, level, region_code, parent_id, staff, certificates, created_at });

    const SELECT: &str = "SELECT a.id, a.name, a.level, a.region_code, a.parent_id, \
         (SELECT COUNT(*) FROM staff s WHERE s.authority_id = a.id) AS staff, \
         (SELECT COUNT(*) FROM certificate c WHERE c.authority_id = a.id) AS certificates, a.created_at FROM authority a";

    impl Row {
        fn view(self) -> AuthorityView {
            AuthorityView {
                level: Level::parse(&self.level).unwrap_or(Level::of_region(&self.region_code)),
                id: self.id,
                name: self.name,
                region_code: self.region_code,
                parent_id: self.parent_id,
                staff: self.staff,
                certificates: self.certificates,
                created_at: self.created_at,
            }
        }
    }

    /// The authorities directly below the staff member's own, by division code.
    pub async fn children(db: &Db, staff: &StaffView) -> Result<Vec<AuthorityView>> {
        let sql = format!("{SELECT} WHERE a.parent_id = $1 ORDER BY a.region_code, a.id");
        let rows: Vec<Row> = db.fetch_all(query(&sql).bind(&staff.authority_id)).await?;
        Ok(rows.into_iter().map(Row::view).collect())
    }

    /// The staff member's authority and every one below it, own first, then by division code
    /// (for choosing whose statistics to read; at most a few thousand nationwide).
    pub async fn subtree(db: &Db, staff: &StaffView) -> Result<Vec<AuthorityView>> {
        let sql = format!(
            "{} {SELECT} WHERE a.id IN (SELECT id FROM sub) \
             ORDER BY CASE WHEN a.id = $1 THEN 0 ELSE 1 END, a.region_code, a.id LIMIT 5000",
            crate::stats::SUBTREE
        );
        let rows: Vec<Row> = db.fetch_all(query(&sql).bind(&staff.authority_id)).await?;
        Ok(rows.into_iter().map(Row::view).collect())
    }

    /// Creates an authority from the command line (`ecert-server authority add`), below the one
    /// coded `parent_region`; answers it. No administrator is made: `staff add` does that.
    pub async fn add_from_command_line(
        db: &Db,
        parent_region: &str,
        name: &str,
        region_code: &str,
        now: Millis,
        random: &Random,
    ) -> Result<AuthorityView> {
        let mut checks = Checks::new();
        let name = checks.take(validate::text("authority_name", name, 100));
        let region = checks.take(validate::region_code("region_code", region_code));
        checks.finish()?;
        let mut tx = db.begin_write().await?;
        let parent: Option<String> = tx
            .fetch_optional(query("SELECT id FROM authority WHERE region_code = $1").bind(parent_region.trim()))
            .await?;
        let parent = parent.ok_or(DomainError::NotFound)?;
        let level = check_child_region("region_code", parent_region.trim(), &region)
            .map_err(|e| DomainError::Validation(vec![e]))?;
        let id = insert(&mut tx, &parent, &name, &region, level, now, random).await?;
        staff::record(
            &mut tx,
            None,
            &parent,
            "authority_create",
            ("authority", &id),
            &format!("{name} ({region})"),
            now,
            random,
        )
        .await?;
        tx.commit().await?;
        Ok(AuthorityView {
            id,
            name,
            level,
            region_code: region,
            parent_id: Some(parent),
            staff: 0,
            certificates: 0,
            created_at: now.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_read_off_division_codes() {
        assert_eq!(Level::of_region("100000"), Level::National);
        assert_eq!(Level::of_region("110000"), Level::Provincial);
        assert_eq!(Level::of_region("110100"), Level::Municipal);
        assert_eq!(Level::of_region("110105"), Level::County);
    }

    #[test]
    fn an_authority_covers_the_divisions_of_its_area_only() {
        assert!(covers("100000", "440305"));
        assert!(covers("440000", "440305") && !covers("440000", "450305"));
        assert!(covers("440300", "440305") && !covers("440300", "440105"));
        assert!(covers("440305", "440305") && !covers("440305", "440306"));
    }

    #[test]
    fn issue15_a_credit_code_must_be_a_public_institutions_of_the_authoritys_area() {
        let code = "12440305MB2C36721K";
        assert_eq!(institution_division("c", code, "440000").as_deref(), Ok("440305"));
        assert_eq!(institution_division("c", code, "100000").as_deref(), Ok("440305"));
        let outside = institution_division("c", code, "110000").unwrap_err();
        assert_eq!(outside.problem, Problem::OutsideDivision);
        let company = institution_division("c", "91440305MB2C36721K", "100000").unwrap_err();
        assert_eq!(company.problem, Problem::NotPublicInstitution);
    }

    #[test]
    fn a_child_authority_is_lower_and_inside() {
        assert_eq!(check_child_region("r", "100000", "440000"), Ok(Level::Provincial));
        assert_eq!(check_child_region("r", "440000", "440300"), Ok(Level::Municipal));
        assert_eq!(
            check_child_region("r", "440000", "440305"),
            Ok(Level::County),
            "a county straight under a province"
        );
        assert!(check_child_region("r", "440000", "450300").is_err(), "another province's city");
        assert!(check_child_region("r", "440000", "440000").is_err(), "itself");
        assert!(check_child_region("r", "440300", "440000").is_err(), "above it");
        assert!(check_child_region("r", "440305", "440305").is_err(), "nothing is below a county");
    }
}
