//! Benchmark of the console at national size on PostgreSQL (issue 15 §2–3): the certificate
//! search and list, the statistics and the issuance and usage lists, over `ECERT_BENCH_CERTS`
//! certificates (default 1,000,000) and `ECERT_BENCH_USAGE` usage records (default 10,000,000).
//!
//! ```sh
//! ECERT_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench --locked -p ecert-core --bench registry_scale
//! ```
//!
//! The rows go to a database of their own, `ecert_bench_scale` on that server, made once and
//! kept: a later run that finds it seeded with the same sizes measures at once
//! (`ECERT_BENCH_RESEED=1` makes it again). The tree is a nation, 31 provinces, 310 prefectures
//! and 3,100 counties; every certificate is a county's, issued over the last three years, nine
//! in ten claimed, one in fifty cancelled; a third have a user and a fifth a manager; usage
//! records spread over the last year. Seeding is SQL (`generate_series`) on the server, its
//! time reported. Each query then runs `ECERT_BENCH_REPS` times (default 40) after one warm-up
//! through the same `ecert_core` functions the console calls, one at a time; the table gives
//! p50 and p99 (the slowest of fewer than 100) in milliseconds.
//!
//! Without `--bench` (`cargo test --benches`) it does nothing: it needs PostgreSQL and minutes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark stops on what it did not expect

use std::future::Future;
use std::time::{Duration, Instant};

use ecert_core::authority::Level;
use ecert_core::certificate::{self, CertificateQuery, SCOPE_SUBTREE};
use ecert_core::seal::Column;
use ecert_core::staff::{Duties, StaffView};
use ecert_core::stats::{self, StatsQuery};
use ecert_core::store::{Db, PoolOptions, query};
use ecert_core::{Lang, Millis};

const DATABASE: &str = "ecert_bench_scale";
const PROVINCES: usize = 31;
const PER_PARENT: usize = 10;
/// The line of migration 0038 after which come its statements that count an existing database.
const TALLIES_FILL: &str = "-- What is there already, counted once.";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("registry_scale: run with `cargo bench` and ECERT_BENCH_DATABASE_URL (PostgreSQL)");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let Ok(server) = std::env::var("ECERT_BENCH_DATABASE_URL").or_else(|_| std::env::var("ECERT_TEST_DATABASE_URL"))
    else {
        println!("registry_scale: SKIPPED, set ECERT_BENCH_DATABASE_URL to a PostgreSQL server");
        return;
    };
    let certs = env_or("ECERT_BENCH_CERTS", 1_000_000);
    let usage = env_or("ECERT_BENCH_USAGE", 10_000_000);
    let reps = env_or("ECERT_BENCH_REPS", 40).max(2);
    let now = Millis::now();
    let db = open_seeded(&server, certs, usage, now).await;
    // As every app server's purge schedule does: the days that ended, counted once.
    let started = Instant::now();
    let days = stats::roll_up_usage(&db, now).await.unwrap();
    println!("registry_scale: rolled up the usage of {days} days in {:.1?}", started.elapsed());

    let national = viewer("a-n", "100000", Level::National);
    let province = viewer("a-p0", "110000", Level::Provincial);
    let county = viewer(&county_id(0, 0, 0), &county_region(0, 0, 0), Level::County);
    let search = |staff: &StaffView, text: &str, scope: &str, page: i64| {
        let q = CertificateQuery { text: text.into(), page, scope: scope.into(), ..CertificateQuery::default() };
        let (db, staff) = (db.clone(), staff.clone());
        async move { certificate::search(&db, &staff, &q, Millis::now()).await.unwrap().items.len() }
    };
    // The console's next page: from the cursor the page before answered (keyset paging).
    let next_page = |staff: &StaffView, page: i64, after: &str| {
        let q =
            CertificateQuery { page, scope: SCOPE_SUBTREE.into(), after: after.into(), ..CertificateQuery::default() };
        let (db, staff) = (db.clone(), staff.clone());
        async move { certificate::search(&db, &staff, &q, Millis::now()).await.unwrap().items.len() }
    };
    let month = |staff: &StaffView, period: &str| {
        let q = StatsQuery { period: period.into(), ..StatsQuery::default() };
        let (db, staff) = (db.clone(), staff.clone());
        async move { stats::statistics(&db, &staff, &q, Lang::Zh, Millis::now()).await.unwrap().rows.len() }
    };
    let issued = |staff: &StaffView| {
        let q = StatsQuery { period: "month".into(), ..StatsQuery::default() };
        let (db, staff) = (db.clone(), staff.clone());
        async move { stats::issued(&db, &staff, &q, (0, 50), Millis::now()).await.unwrap().0.len() }
    };
    let used = |staff: &StaffView| {
        let q = StatsQuery { period: "day".into(), ..StatsQuery::default() };
        let (db, staff) = (db.clone(), staff.clone());
        async move { stats::used(&db, &staff, &q, (0, 50), Millis::now()).await.unwrap().0.len() }
    };
    // The floor of every row: one round trip to the database through the same pool.
    let bare = || {
        let db = db.clone();
        async move {
            let one: i64 = db.fetch_one(query("SELECT CAST(1 AS BIGINT)")).await.unwrap();
            usize::try_from(one).unwrap()
        }
    };
    let target = certs / 2;
    let name_part = format!("{target}号");
    let code_part = format!("{target:010}");
    let serial_prefix = format!("EC{:012}", target / 100);
    let whole_code: String = db
        .fetch_one(query("SELECT credit_code FROM institution WHERE id = $1").bind(format!("i{target}")))
        .await
        .unwrap();
    // Where page 200 starts when the pager walks there: the cursor page 199 answers.
    let before_200 = CertificateQuery { page: 198, scope: SCOPE_SUBTREE.into(), ..CertificateQuery::default() };
    let after_199 = certificate::search(&db, &national, &before_200, Millis::now()).await.unwrap().next;

    println!("\n{certs} certificates, {usage} usage records; {reps} runs each after a warm-up; milliseconds");
    println!("{:<58} {:>8} {:>8} {:>6}", "query", "p50", "p99", "rows");
    measure("bare: SELECT 1 (one round trip)", reps, bare).await;
    measure("county: its own list, page 1", reps, || search(&county, "", "", 0)).await;
    measure("county: its own list, page 5", reps, || search(&county, "", "", 4)).await;
    measure("nation: whole subtree, page 1", reps, || search(&national, "", SCOPE_SUBTREE, 0)).await;
    measure("nation: whole subtree, page 200", reps, || search(&national, "", SCOPE_SUBTREE, 199)).await;
    measure("nation: whole subtree, page 200 from page 199's cursor", reps, || next_page(&national, 199, &after_199))
        .await;
    measure("nation: name substring", reps, || search(&national, &name_part, SCOPE_SUBTREE, 0)).await;
    measure("nation: credit code substring", reps, || search(&national, &code_part, SCOPE_SUBTREE, 0)).await;
    measure("nation: whole credit code", reps, || search(&national, &whole_code, SCOPE_SUBTREE, 0)).await;
    measure("nation: serial prefix", reps, || search(&national, &serial_prefix, SCOPE_SUBTREE, 0)).await;
    measure("province: name substring in its subtree", reps, || search(&province, &name_part, SCOPE_SUBTREE, 0)).await;
    measure("province: whole subtree, page 1", reps, || search(&province, "", SCOPE_SUBTREE, 0)).await;
    measure("statistics: nation, 12 months", reps, || month(&national, "month")).await;
    measure("statistics: nation, 5 years", reps, || month(&national, "year")).await;
    measure("statistics: province, 12 months", reps, || month(&province, "month")).await;
    measure("statistics: county, 30 days", reps, || month(&county, "day")).await;
    measure("issuance list: nation, 12 months, page 1", reps, || issued(&national)).await;
    measure("issuance list: province, 12 months, page 1", reps, || issued(&province)).await;
    measure("usage list: nation, 30 days, page 1", reps, || used(&national)).await;
    measure("usage list: county, 30 days, page 1", reps, || used(&county)).await;
}

/// Runs `f` once to warm up, then `reps` times; prints p50 and p99.
async fn measure<F, Fut>(name: &str, reps: usize, f: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = usize>,
{
    let rows = f().await;
    let mut times: Vec<Duration> = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        f().await;
        times.push(start.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{name:<58} {:>8.2} {:>8.2} {rows:>6}", ms(at(0.50)), ms(at(0.99)));
}

fn viewer(authority_id: &str, region: &str, level: Level) -> StaffView {
    StaffView {
        id: "s-bench".into(),
        username: "bench".into(),
        display_name: "压测".into(),
        duties: Duties { administer: false, operate: false, audit: true },
        authority_id: authority_id.into(),
        authority_name: String::new(),
        authority_level: level,
        authority_region: region.into(),
    }
}

fn county_id(p: usize, m: usize, c: usize) -> String {
    format!("a-p{p}-m{m}-c{c}")
}

fn county_region(p: usize, m: usize, c: usize) -> String {
    format!("{}{:02}{:02}", 11 + p, m + 1, c + 1)
}

/// The benchmark's own database on `server`, seeded with `certs` certificates and `usage`
/// usage records unless it already holds them.
async fn open_seeded(server: &str, certs: usize, usage: usize, now: Millis) -> Db {
    let vault = ecert_testing::test_vault();
    let admin = Db::open(server, &PoolOptions::default(), vault.clone()).await.unwrap();
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    let url = format!("{base}/{DATABASE}");
    // The seed's version after the sizes: 2 since the certificates lapse at a CST midnight.
    let sizes = format!("{certs}/{usage}/2");
    let reseed = std::env::var("ECERT_BENCH_RESEED").is_ok_and(|v| v == "1");
    let existing = match Db::open(&url, &PoolOptions::default(), vault.clone()).await {
        Ok(db) => {
            let seeded: Option<String> =
                db.fetch_optional(query("SELECT name FROM authority WHERE id = 'a-sizes'")).await.ok().flatten();
            if seeded.as_deref() == Some(sizes.as_str()) && !reseed { Some(db) } else { None }
        }
        Err(_) => None,
    };
    if let Some(db) = existing {
        println!("registry_scale: {DATABASE} already holds {sizes}; measuring");
        return db;
    }
    let _ = admin.execute(query(format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))).await;
    admin.execute(query(format!("CREATE DATABASE {DATABASE}"))).await.unwrap();
    let db = Db::open(&url, &PoolOptions::default(), vault.clone()).await.unwrap();
    let started = Instant::now();
    seed(&db, certs, usage, now).await;
    println!("registry_scale: seeded {certs} certificates and {usage} usage records in {:.0?}", started.elapsed());
    db.execute(query("INSERT INTO authority (id, name, level, parent_id, region_code, created_at) VALUES ('a-sizes', $1, 'county', 'a-n', '999999', 0)").bind(&sizes)).await.unwrap();
    db
}

async fn seed(db: &Db, certs: usize, usage: usize, now: Millis) {
    let t = now.0;
    let mut tx = db.begin_write().await.unwrap();
    let authority =
        "INSERT INTO authority (id, name, level, parent_id, region_code, created_at) VALUES ($1, $2, $3, $4, $5, 0)";
    tx.execute(query(authority).bind("a-n").bind("国家局").bind("national").bind(None::<String>).bind("100000"))
        .await
        .unwrap();
    for p in 0..PROVINCES {
        let pid = format!("a-p{p}");
        let region = format!("{}0000", 11 + p);
        tx.execute(query(authority).bind(&pid).bind(format!("省局{p}")).bind("provincial").bind("a-n").bind(region))
            .await
            .unwrap();
        for m in 0..PER_PARENT {
            let mid = format!("a-p{p}-m{m}");
            let region = format!("{}{:02}00", 11 + p, m + 1);
            tx.execute(
                query(authority).bind(&mid).bind(format!("市局{p}-{m}")).bind("municipal").bind(&pid).bind(region),
            )
            .await
            .unwrap();
            for c in 0..PER_PARENT {
                let name = format!("县局{p}-{m}-{c}");
                let row = query(authority).bind(county_id(p, m, c)).bind(name).bind("county").bind(&mid);
                tx.execute(row.bind(county_region(p, m, c))).await.unwrap();
            }
        }
    }
    tx.execute(query("INSERT INTO staff (id, authority_id, username, display_name, password_hash, is_admin, created_at) VALUES ('s-bench', 'a-n', 'bench', '压测', 'x', FALSE, 0)")).await.unwrap();
    tx.commit().await.unwrap();

    let counties = PROVINCES * PER_PARENT * PER_PARENT;
    let three_years = 3 * 365 * Millis::DAY;
    let step = three_years / certs.max(1) as i64;
    let statements = [
        "CREATE TABLE bench_county AS SELECT row_number() OVER (ORDER BY id) - 1 AS idx, id, region_code \
         FROM authority WHERE level = 'county'"
            .to_owned(),
        format!(
            "INSERT INTO institution (id, authority_id, credit_code, name, address, legal_rep_name, legal_rep_id_number, legal_rep_mobile, created_at) \
             SELECT 'i' || g, k.id, '12' || k.region_code || lpad(g::text, 10, '0'), '压测事业单位' || g || '号', '某市某区某路' || g || '号', \
             '张三', 'x', 'x', {t} - ({certs} - g) * {step} FROM generate_series(0::bigint, {certs} - 1) g JOIN bench_county k ON k.idx = g % {counties}"
        ),
        // The figures the writes keep (migration 0038) are counted once after the rows, as the
        // migration counts what it finds, rather than by a trigger per row.
        "ALTER TABLE certificate DISABLE TRIGGER certificate_tally".to_owned(),
        "ALTER TABLE holder DISABLE TRIGGER holder_tally".to_owned(),
        // Each lapses at 00:00 CST of its issue day five years on, as the app sets it
        // (`validity::expiry_of_issue`, migration 0018 for older rows).
        format!(
            "INSERT INTO certificate (id, institution_id, serial, status, issued_at, issued_by, authority_id, claimed_at, ended_at, expires_at) \
             SELECT 'c' || g, 'i' || g, 'EC' || lpad(g::text, 14, '0'), CASE WHEN g % 50 = 0 THEN 'cancelled' ELSE 'active' END, \
             {t} - ({certs} - g) * {step}, 's-bench', k.id, \
             CASE WHEN g % 10 = 0 THEN NULL ELSE {t} - ({certs} - g) * {step} + {day} END, \
             CASE WHEN g % 50 = 0 THEN {t} - ({certs} - g) * {step} + 2 * {day} END, \
             (({t} - ({certs} - g) * {step} + {cst}) / {day} + 1826) * {day} - {cst} \
             FROM generate_series(0::bigint, {certs} - 1) g JOIN bench_county k ON k.idx = g % {counties}",
            day = Millis::DAY,
            cst = 8 * Millis::HOUR,
        ),
        format!(
            "INSERT INTO holder (id, certificate_id, role, name, id_number, mobile, is_legal_rep, granted_by, status, created_at) \
             SELECT 'h' || g, 'c' || g, 'first_manager', '张三', 'x', 'x', TRUE, NULL, CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'active' END, 0 \
             FROM generate_series(0::bigint, {certs} - 1) g"
        ),
        format!(
            "INSERT INTO holder (id, certificate_id, role, name, id_number, mobile, is_legal_rep, granted_by, status, created_at) \
             SELECT 'hu' || g, 'c' || g, 'user', '李四', 'x', 'x', FALSE, 'h' || g, 'active', 0 \
             FROM generate_series(0::bigint, {certs} - 1, 3) g"
        ),
        format!(
            "INSERT INTO holder (id, certificate_id, role, name, id_number, mobile, is_legal_rep, granted_by, status, created_at) \
             SELECT 'hm' || g, 'c' || g, 'manager', '王五', 'x', 'x', FALSE, 'h' || g, 'active', 0 \
             FROM generate_series(0::bigint, {certs} - 1, 5) g"
        ),
    ];
    // The migration's own statements that count what a database holds, as it ran them.
    let migration = include_str!("../migrations/postgres/0038_certificate_tallies.sql");
    let fill = migration.split(TALLIES_FILL).nth(1).and_then(|rest| rest.split("\n--").next()).unwrap();
    let statements = statements
        .into_iter()
        .chain(fill.split(';').filter(|s| !s.trim().is_empty()).map(str::to_owned))
        .chain([
        "ALTER TABLE certificate ENABLE TRIGGER certificate_tally".to_owned(),
        "ALTER TABLE holder ENABLE TRIGGER holder_tally".to_owned(),
        format!(
            "INSERT INTO usage_record (id, certificate_id, holder_id, kind, system, result, at, party_id, counter_id, authority_id) \
             SELECT 'u' || lpad(g::text, 12, '0'), 'c' || (g % {certs}), 'h' || (g % {certs}), \
             (ARRAY['login', 'present', 'sign', 'present'])[g % 4 + 1], CASE WHEN g % 4 = 1 THEN 'public' ELSE '办事系统' END, \
             'verified', {t} - ({usage} - g) * {ustep}, NULL, NULL, k.id \
             FROM generate_series(0::bigint, {usage} - 1) g JOIN bench_county k ON k.idx = (g % {certs}) % {counties}",
            ustep = 365 * Millis::DAY / usage.max(1) as i64
        ),
        "DROP TABLE bench_county".to_owned(),
        // As autovacuum leaves a live database: statistics, and the visibility map that lets a
        // count read an index alone.
        "VACUUM ANALYZE".to_owned(),
    ]);
    for sql in statements {
        let started = Instant::now();
        db.execute(query(sql.clone())).await.unwrap();
        let head: String = sql.chars().take(40).collect();
        println!("registry_scale:   {head}… {:.1?}", started.elapsed());
    }
    // The measured county's own rows open their personal fields: seal them for real.
    let own: Vec<(String, String)> = db
        .fetch_all(query("SELECT i.id, h.id FROM institution i JOIN certificate c ON c.institution_id = i.id JOIN holder h ON h.certificate_id = c.id AND h.role = 'first_manager' WHERE i.authority_id = $1").bind(county_id(0, 0, 0)))
        .await
        .unwrap();
    let vault = db.vault().clone();
    let mut tx = db.begin_write().await.unwrap();
    for (institution, holder) in own {
        let id_number = ecert_testing::resident_id(1);
        let update = query("UPDATE institution SET legal_rep_id_number = $1, legal_rep_mobile = $2 WHERE id = $3")
            .bind(vault.seal(Column::RepIdNumber.at(&institution), &id_number))
            .bind(vault.seal(Column::RepMobile.at(&institution), "13812345678"))
            .bind(&institution);
        tx.execute(update).await.unwrap();
        let update = query("UPDATE holder SET id_number = $1 WHERE id = $2")
            .bind(vault.seal(Column::HolderIdNumber.at(&holder), &id_number))
            .bind(&holder);
        tx.execute(update).await.unwrap();
    }
    tx.commit().await.unwrap();
}
