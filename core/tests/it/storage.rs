//! The storage contract: the same assertions on SQLite and, when `ECERT_TEST_DATABASE_URL`
//! names one, on PostgreSQL.

use ecert_core::bootstrap::{FirstStart, ensure_first_authority};
use ecert_core::secret::{Random, Secret, verify_password};
use ecert_core::store::{Applied, Backend, ConnectError, Db, PoolOptions, Statement, Unit, is_unique_violation};
use ecert_core::{DomainError, Error, store::query};
use ecert_testing::{open_test_db, test_vault};

use crate::support::T0;

#[tokio::test]
async fn migrations_are_idempotent_and_the_database_answers() {
    let db = open_test_db().await;
    db.migrate().await.unwrap();
    db.ping().await.unwrap();
}

#[tokio::test]
async fn unique_violations_are_classified_by_the_driver() {
    let db = open_test_db().await;
    let random = Random::os();
    let authority = random.id();
    db.execute(query("INSERT INTO authority (id, name, level, parent_id, region_code, created_at) VALUES ($1, 'a', 'county', NULL, '110105', $2)").bind(&authority).bind(T0.0)).await
    .unwrap();
    let username = format!("u{}", random.id());
    let insert = |id: String| {
        let (db, authority, username) = (db.clone(), authority.clone(), username.clone());
        async move {
            db.execute(
                query(
                    "INSERT INTO staff (id, authority_id, username, display_name, password_hash, is_admin, created_at) \
                 VALUES ($1, $2, $3, 'x', 'h', $4, $5)",
                )
                .bind(id)
                .bind(authority)
                .bind(username)
                .bind(false)
                .bind(T0.0),
            )
            .await
        }
    };
    insert(random.id()).await.unwrap();
    let err = insert(random.id()).await.unwrap_err();
    assert!(is_unique_violation(&err), "{err:?}");
}

#[tokio::test]
async fn a_write_transaction_rolls_back_when_dropped() {
    let db = open_test_db().await;
    let id = Random::os().id();
    {
        let mut tx = db.begin_write().await.unwrap();
        tx.execute(query("INSERT INTO authority (id, name, level, parent_id, region_code, created_at) VALUES ($1, 'b', 'county', NULL, '110105', $2)").bind(&id).bind(T0.0)).await
        .unwrap();
    }
    let n: i64 = db.fetch_one(query("SELECT COUNT(*) FROM authority WHERE id = $1").bind(&id)).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn write_transactions_serialise_read_then_write() {
    // Twenty concurrent "read the counter, write counter + 1" transactions lose no update.
    let db = open_test_db().await;
    let id = Random::os().id();
    db.execute(query("INSERT INTO authority (id, name, level, parent_id, region_code, created_at) VALUES ($1, '0', 'county', NULL, '110105', $2)").bind(&id).bind(T0.0)).await
    .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (db, id) = (db.clone(), id.clone());
            tokio::spawn(async move {
                let mut tx = db.begin_write().await.unwrap();
                let name: String = tx
                    .fetch_one(query("SELECT name FROM authority WHERE id = $1").bind(&id).lock_rows())
                    .await
                    .unwrap();
                let next = (name.parse::<i64>().unwrap() + 1).to_string();
                tx.execute(query("UPDATE authority SET name = $1 WHERE id = $2").bind(&next).bind(&id)).await.unwrap();
                tx.commit().await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let name: String = db.fetch_one(query("SELECT name FROM authority WHERE id = $1").bind(&id)).await.unwrap();
    assert_eq!(name, "20");
}

#[tokio::test]
async fn first_start_creates_one_authority_and_admin_even_when_servers_race() {
    // A fresh database of its own: first start only acts on an empty one.
    let db = match open_test_db().await {
        db @ Db::Sqlite(..) => db,
        // On PostgreSQL the shared test database already has authorities; the empty-database
        // path is covered there by the end-to-end suite, which starts on an empty database.
        Db::Postgres(..) => return,
    };
    let request = FirstStart {
        authority_name: "测试登记管理局".into(),
        region_code: "110000".into(),
        admin_username: "admin".into(),
        admin_password: None,
    };
    let random = Random::os();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (db, request, random) = (db.clone(), request.clone(), random.clone());
            tokio::spawn(async move { ensure_first_authority(&db, &request, T0, &random).await.unwrap() })
        })
        .collect();
    let mut reports = Vec::new();
    for t in tasks {
        reports.extend(t.await.unwrap());
    }
    assert_eq!(reports.len(), 1, "exactly one start creates the authority");
    let password = reports[0].generated_password.clone().expect("a generated password");
    assert!(password.expose().len() >= 16);
    let hash: String = db.fetch_one(query("SELECT password_hash FROM staff WHERE username = 'admin'")).await.unwrap();
    assert!(!hash.contains(password.expose()), "only the hash is stored");
    assert!(verify_password(password, hash).await);
    assert!(ensure_first_authority(&db, &request, T0, &random).await.unwrap().is_none(), "later starts do nothing");
}

#[tokio::test]
async fn first_start_refuses_a_weak_configured_password_and_changes_nothing() {
    let db = open_test_db().await;
    let request = FirstStart {
        authority_name: "测试登记管理局".into(),
        region_code: "110000".into(),
        admin_username: "admin".into(),
        admin_password: Some(Secret::new("short")),
    };
    let before: i64 = db.fetch_one(query("SELECT COUNT(*) FROM staff")).await.unwrap();
    match ensure_first_authority(&db, &request, T0, &Random::os()).await {
        Err(Error::Domain(DomainError::Validation(fields))) => assert_eq!(fields[0].field, "password"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let after: i64 = db.fetch_one(query("SELECT COUNT(*) FROM staff")).await.unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn unsupported_and_malformed_urls_are_explained_without_echoing_them() {
    let err = Db::connect("mysql://root:secret@localhost/x", &PoolOptions::default(), test_vault()).await.unwrap_err();
    assert!(matches!(err, ConnectError::UnsupportedScheme));
    assert!(!err.to_string().contains("secret"));
    let err = Db::connect(
        "postgres://u:secret@127.0.0.1:1/x",
        &PoolOptions {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_secs(2),
            ..PoolOptions::default()
        },
        test_vault(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectError::Connect(_)), "{err}");
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn on_postgresql_the_presented_sets_pages_keep_room_for_their_updates() {
    // Issue 17 §2 (migration 0037): the single-use mark (R10) and the public check's minute
    // (R12) update a set where it lies; with a fifth of each page free PostgreSQL can keep the
    // new version on the page (HOT) and write none of the five index entries. SQLite has no
    // fill factor.
    let db = open_test_db().await;
    if db.backend() != Backend::Postgres {
        return;
    }
    let options: String = db
        .fetch_one(query(
            "SELECT COALESCE(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = 'presentation'::regclass",
        ))
        .await
        .unwrap();
    assert_eq!(options, "fillfactor=80");
    let unindexed: i64 = db
        .fetch_one(query(
            "SELECT COUNT(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
             WHERE i.indrelid = 'presentation'::regclass AND a.attname IN ('used_at', 'public_checked_at')",
        ))
        .await
        .unwrap();
    assert_eq!(unindexed, 0, "an index on a column the checks update would make every such update a full one");
}

#[tokio::test]
async fn the_backend_is_picked_by_the_url() {
    let db = open_test_db().await;
    let expected = match std::env::var("ECERT_TEST_DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    assert_eq!(db.backend(), expected);
}

/// An authority row as a unit statement (a table with no foreign keys of its own).
fn authority(id: &str, name: &str) -> Statement {
    query(
        "INSERT INTO authority (id, name, level, parent_id, region_code, created_at) VALUES ($1, $2, 'county', NULL, '110105', $3)",
    )
    .bind(id)
    .bind(name)
    .bind(T0)
    .into()
}

async fn authority_name(db: &Db, id: &str) -> Option<String> {
    db.fetch_optional::<(String,)>(query("SELECT name FROM authority WHERE id = $1").bind(id))
        .await
        .unwrap()
        .map(|r| r.0)
}

#[tokio::test]
async fn a_unit_applies_whole_or_not_at_all_and_its_reads_see_it_at_once() {
    let db = open_test_db().await;
    // Issue 17 §2: on PostgreSQL an independent unit is one statement, not a transaction; it
    // keeps every promise of one.
    for independent in [false, true] {
        let unit = |statements: Vec<Statement>| {
            let unit = Unit::new(statements);
            if independent { unit.independent() } else { unit }
        };
        let random = Random::os();
        let (a, b) = (random.id(), random.id());

        let done = db.write(unit(vec![authority(&a, "甲"), authority(&b, "乙")])).await.unwrap();
        assert_eq!(done, Applied::Done(vec![1, 1]));
        assert_eq!(authority_name(&db, &a).await.as_deref(), Some("甲"), "committed when write answers");

        // A compare-and-set that misses stops the unit and undoes what it did before.
        let rename = |id: &str, from: &str, to: &str| {
            query("UPDATE authority SET name = $1 WHERE id = $2 AND name = $3")
                .bind(to)
                .bind(id)
                .bind(from)
                .must_change()
        };
        let stopped = db.write(unit(vec![rename(&a, "甲", "丙"), rename(&b, "不是乙", "丁")])).await.unwrap();
        assert_eq!(stopped, Applied::Stopped(1), "the second statement stopped it");
        assert_eq!(authority_name(&db, &a).await.as_deref(), Some("甲"), "the first rename was undone");
        assert_eq!(authority_name(&db, &b).await.as_deref(), Some("乙"));

        // The first statement that misses is the one named, and what came after it is undone too.
        let stopped = db.write(unit(vec![rename(&a, "不是甲", "丙"), rename(&b, "乙", "丁")])).await.unwrap();
        assert_eq!(stopped, Applied::Stopped(0), "the first statement stopped it");
        assert_eq!(authority_name(&db, &b).await.as_deref(), Some("乙"), "the second rename was undone");

        // A statement not marked may change nothing; the rows each changed are answered.
        let touch = query("UPDATE authority SET name = name WHERE id = $1").bind("无此机关").into();
        let done = db.write(unit(vec![rename(&a, "甲", "丙"), touch])).await.unwrap();
        assert_eq!(done, Applied::Done(vec![1, 0]));
        assert_eq!(authority_name(&db, &a).await.as_deref(), Some("丙"));

        // A unit of one statement that misses changes nothing either.
        assert_eq!(db.write(unit(vec![rename(&b, "不是乙", "丁")])).await.unwrap(), Applied::Stopped(0));
        assert_eq!(authority_name(&db, &b).await.as_deref(), Some("乙"));

        // A failing statement fails its unit only, and undoes it.
        let c = random.id();
        let err = db.write(unit(vec![authority(&c, "戊"), authority(&a, "重复")])).await;
        assert!(err.as_ref().is_err_and(is_unique_violation), "a duplicate id is refused as one: {err:?}");
        assert_eq!(authority_name(&db, &c).await, None, "the unit's first insert was undone");
    }
}

#[tokio::test]
async fn a_point_read_refused_or_cut_off_leaves_no_broken_connection_behind() {
    // Issue 17 §2: on PostgreSQL a point read borrows a connection that comes back without
    // sqlx's ping; one the server refused is lent again, one cut off mid-statement is closed.
    let db = open_test_db().await;
    for round in 0..3 {
        let refused = db.fetch_one::<i64>(query("SELECT CAST(1 AS BIGINT) FROM no_such_table").point_read()).await;
        assert!(refused.is_err(), "a read of no table is refused");
        if db.backend() == Backend::Postgres {
            let sleep = db.fetch_one::<i64>(query("SELECT CAST(1 AS BIGINT) FROM pg_sleep(5)").point_read());
            let cut = tokio::time::timeout(std::time::Duration::from_millis(100), sleep).await;
            assert!(cut.is_err(), "the read was cut off");
        }
        let after = db.fetch_one::<i64>(query("SELECT CAST($1 AS BIGINT)").bind(round).point_read()).await;
        assert_eq!(after.unwrap(), round, "the next read answers");
        let counted = db.fetch_all::<(i64,)>(query("SELECT CAST($1 AS BIGINT)").bind(round).point_read()).await;
        assert_eq!(counted.unwrap(), vec![(round,)]);
    }
    let usage = db.pool_use();
    assert!(usage.open <= usage.max, "{usage:?}");
}

#[tokio::test]
async fn concurrent_units_are_committed_each_exactly_once_and_failures_stay_their_own() {
    // Issue 4: on SQLite, units that queue meanwhile share one commit; each keeps its own
    // outcome. 200 at once, every fifth a duplicate of an existing row.
    let db = open_test_db().await;
    let random = Random::os();
    let taken = random.id();
    db.write(Unit::new([authority(&taken, "已有")])).await.unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (db, taken, id) = (db.clone(), taken.clone(), random.id());
            tokio::spawn(async move {
                let (id, ok) = if i % 5 == 0 { (taken, false) } else { (id, true) };
                let result = db.write(Unit::new([authority(&id, &format!("并发{i}"))])).await;
                (id, ok, result.is_ok())
            })
        })
        .collect();
    let mut written = Vec::new();
    for t in tasks {
        let (id, expected, ok) = t.await.unwrap();
        assert_eq!(ok, expected, "unit {id}");
        if ok {
            written.push(id);
        }
    }
    assert_eq!(written.len(), 160);
    for id in &written {
        assert!(authority_name(&db, id).await.is_some(), "R12: a unit that answered Ok is stored");
    }
    assert_eq!(authority_name(&db, &taken).await.as_deref(), Some("已有"), "the duplicates changed nothing");
}

#[tokio::test]
async fn on_sqlite_the_wal_is_copied_back_into_the_file_beside_the_writer() {
    // The writer never checkpoints itself (its callers would wait for the fsync); a thread of
    // its own does, after commits. Only a checkpoint writes to the database file in WAL mode.
    let path = std::env::temp_dir().join("ecert-tests").join(format!("{}.db", Random::os().id()));
    let url = format!("sqlite:{}", path.display());
    let db = Db::open(&url, &PoolOptions::default(), test_vault()).await.unwrap();
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let before = size();
    let random = Random::os();
    for i in 0..50 {
        let rows = (0..20).map(|k| authority(&random.id(), &format!("检查点{i}-{k}"))).collect::<Vec<_>>();
        db.write(Unit::new(rows)).await.unwrap();
    }
    let mut waited = 0;
    while size() <= before && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(size() > before, "1,000 rows reached the database file ({before} bytes before)");
    db.close().await;
    let _ = std::fs::remove_file(&path);
}

/// Issue 17 §2: under steady writes a PASSIVE checkpoint never catches up with the writer, so
/// the WAL never starts over and grows for as long as the writes last (1.2 GB beside a 280 MB
/// database in 24 s of the benchmark, docs/performance.md). The writer looks after every commit
/// and, past the bound, holds the writes while the WAL is copied back and starts over; every
/// write still lands, and no write returns with the WAL longer than the bound and one group.
#[tokio::test]
async fn on_sqlite_a_wal_under_steady_writes_starts_over_at_its_bound() {
    let path = std::env::temp_dir().join("ecert-tests").join(format!("{}.db", Random::os().id()));
    let url = format!("sqlite:{}", path.display());
    let bound = 64;
    let options = PoolOptions { wal_bound_bytes: bound * 4096, ..PoolOptions::default() };
    let db = Db::open(&url, &options, test_vault()).await.unwrap();
    let wal_path = format!("{}-wal", path.display());
    let wal = move || std::fs::metadata(&wal_path).map(|m| m.len()).unwrap_or(0);
    // The WAL the migrations left (1.65 MB) copied back and emptied, so that what is measured
    // is the writes'.
    db.execute(query("PRAGMA wal_checkpoint(TRUNCATE)")).await.unwrap();
    assert_eq!(wal(), 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let writers = (0..4).map(|w| {
        let (db, wal) = (db.clone(), wal.clone());
        tokio::spawn(async move {
            let random = Random::os();
            let (mut written, mut longest) = (0, 0);
            while std::time::Instant::now() < deadline {
                let rows =
                    (0..20).map(|k| authority(&random.id(), &format!("上限{w}-{written}-{k}"))).collect::<Vec<_>>();
                db.write(Unit::new(rows)).await.unwrap();
                written += 20;
                longest = longest.max(wal());
            }
            (written, longest)
        })
    });
    let (mut written, mut longest) = (0, 0);
    for w in writers {
        let (rows, wal) = w.await.unwrap();
        written += rows;
        longest = longest.max(wal);
    }
    let held = db.pool_use().wal_restarts_held.unwrap();
    assert!(held > 0, "the WAL reached {bound} pages and was started over with the writes held");
    let stored: i64 =
        db.fetch_one(query("SELECT COUNT(*) FROM authority WHERE name LIKE $1").bind("上限%")).await.unwrap();
    assert_eq!(stored, written, "every write answered Ok is stored");
    // The bound is 64 pages (263 KB of WAL), and four writers' groups are a few hundred rows:
    // 375 to 400 KB at most in three runs, some 200 restarts held in the 3 s.
    // With the checkpointer holding the writes only when its PASSIVE checkpoint ended (before
    // the writer looked), the WAL reached 71, 106 and 193 MB; with no bound, 0.98 and 1.0 GB.
    assert!(longest < 1 << 20, "the WAL file reached {longest} bytes over {written} rows ({held} restarts held)");
    db.close().await;
    for end in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{end}", path.display()));
    }
}

/// Issue 17 §2: the WAL's bound is carried in bytes, so that a file of pages smaller than
/// SQLite's default 4 KiB is bounded at the length asked for, not at as many of its small pages
/// as 4 KiB pages would make (a quarter of it for 1 KiB pages).
#[tokio::test]
async fn on_sqlite_the_wal_bound_is_bytes_whatever_the_page_size() {
    use sqlx::{ConnectOptions, Connection};
    let path = std::env::temp_dir().join("ecert-tests").join(format!("{}.db", Random::os().id()));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut made = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .page_size(1024)
        .connect()
        .await
        .unwrap();
    sqlx::query("CREATE TABLE made_with_small_pages (x)").execute(&mut made).await.unwrap();
    made.close().await.unwrap();
    let options = PoolOptions { wal_bound_bytes: 1 << 20, ..PoolOptions::default() };
    let db = Db::open(&format!("sqlite:{}", path.display()), &options, test_vault()).await.unwrap();
    let page_size: i64 = db.fetch_one(query("PRAGMA page_size")).await.unwrap();
    assert_eq!(page_size, 1024, "the file keeps its pages of 1 KiB");
    assert_eq!(db.pool_use().wal_bound_bytes, Some(1 << 20), "1,024 pages of 1 KiB, not 256");
    db.close().await;
    for end in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{end}", path.display()));
    }
}

/// Issue 17 §2: a SQLite database is made with the page size the pool options ask for
/// (`--sqlite-page-size`), migrated and written through the writer in it; opened again with
/// another size (SQLite's default here) it keeps its own (the test above: one made elsewhere).
#[tokio::test]
async fn on_sqlite_a_new_database_takes_the_page_size_asked_for() {
    let path = std::env::temp_dir().join("ecert-tests").join(format!("{}.db", Random::os().id()));
    let url = format!("sqlite:{}", path.display());
    let small = PoolOptions { sqlite_page_size: 1024, ..PoolOptions::default() };
    let db = Db::open(&url, &small, test_vault()).await.unwrap();
    let page_size: i64 = db.fetch_one(query("PRAGMA page_size")).await.unwrap();
    assert_eq!(page_size, 1024);
    let random = Random::os();
    db.write(Unit::new([authority(&random.id(), "小页")])).await.unwrap();
    db.close().await;
    let db = Db::open(&url, &PoolOptions::default(), test_vault()).await.unwrap();
    let page_size: i64 = db.fetch_one(query("PRAGMA page_size")).await.unwrap();
    assert_eq!(page_size, 1024, "an existing file keeps its pages");
    let stored: i64 = db.fetch_one(query("SELECT COUNT(*) FROM authority WHERE name = $1").bind("小页")).await.unwrap();
    assert_eq!(stored, 1);
    db.close().await;
    for end in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{end}", path.display()));
    }
}

/// Issue 17 §1: a client's rate window counted in the shared database holds through every app
/// server: forty concurrent hits (as from several servers at once) count exactly to the limit,
/// another client and the next minute start afresh, and the purge drops windows that are over.
#[tokio::test]
async fn rate_windows_count_to_their_limit_under_concurrency_and_expire() {
    use ecert_core::{Millis, purge, rate};
    let db = open_test_db().await;
    let client = format!("198.51.100.{}", Random::os().id().len());
    let class = format!("test-{}", Random::os().id());
    let now = Millis(rate::window_of(T0) + 5_000);
    let hits = (0..40).map(|_| {
        let (db, class, client) = (db.clone(), class.clone(), client.clone());
        tokio::spawn(async move { rate::hit(&db, &class, &client, now, 7).await.unwrap() })
    });
    let mut counted = 0;
    for hit in hits {
        counted += usize::from(hit.await.unwrap());
    }
    assert_eq!(counted, 7, "no more than the limit, however many servers ask at once");
    assert!(!rate::hit(&db, &class, &client, now, 7).await.unwrap());
    assert!(rate::hit(&db, &class, "203.0.113.9", now, 7).await.unwrap(), "another client");
    let next_minute = Millis(now.0 + Millis::MINUTE);
    assert!(rate::hit(&db, &class, &client, next_minute, 7).await.unwrap(), "the next window");

    let windows = || {
        let (db, class) = (db.clone(), class.clone());
        async move {
            db.fetch_one::<i64>(query("SELECT COUNT(*) FROM rate_window WHERE class = $1").bind(class)).await.unwrap()
        }
    };
    assert_eq!(windows().await, 3);
    purge::purge(&db, Millis(rate::window_of(next_minute) + 2 * Millis::MINUTE)).await.unwrap();
    assert_eq!(windows().await, 1, "the first minute's two windows are gone, the next one's stays");
}
