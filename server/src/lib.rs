#![recursion_limit = "256"]
//! Wiring only: configuration → pool → migrations → first start → state → router → serve.
//!
//! The server must not decide what a rule of `ecert-core` decides; it wires and answers.

pub mod api_error;
pub mod client_auth;
pub mod config;
pub mod directory_api;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod oidc;
pub mod page_brotli;
pub mod sign;
pub mod tcp;
pub mod telemetry;
pub mod tls;
pub mod verify_api;

use std::time::Duration;

use ecert_app::state::{AppState, Services};
use ecert_core::bootstrap::{self, FirstStart, FirstStartReport};
use ecert_core::secret::{Random, Secret};
use ecert_core::store::{ConnectError, Db};
use ecert_core::{Lang, Millis};
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;

pub use config::Config;
use config::{AuthorityCommand, CertificateCommand, Command, StaffCommand};

/// Why the server could not start; each says what to change.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(
        "{0}\n  (check DATABASE_URL / --database-url; e.g. sqlite:data/ecert.db or postgres://user@127.0.0.1/ecert)"
    )]
    Database(#[from] ConnectError),
    #[error("first start failed: {0}")]
    FirstStart(String),
    #[error("cannot listen on {addr}: {reason}\n  (set ECERT_LISTEN / --listen to another address or port)")]
    Listen { addr: String, reason: String },
    #[error("{0}\n  (check ECERT_TLS_CERT / --tls-cert and ECERT_TLS_KEY / --tls-key)")]
    Tls(#[from] tls::TlsError),
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    Command(String),
}

/// Builds the shared state from an open database.
pub fn app_state(config: &Config, db: Db, random: Random) -> Result<AppState, StartError> {
    let addr = config.listen_addr()?;
    let leptos_options = LeptosOptions::builder()
        .output_name("ecert")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    Ok(AppState::new(Services {
        db,
        random,
        identity: config.identity(),
        issue_policy: ecert_core::certificate::IssuePolicy {
            claim_minutes: config.claim_minutes,
            archive_years: config.archive_years,
            validity_years: config.validity_years,
        },
        sms: config.sms()?,
        leptos_options,
        public_url: config.public_url(),
        trusted_proxies: config.trusted_proxies.clone().into(),
        rate_limit_scale: config.rate_limit_scale,
    }))
}

/// What [`prepare`] made ready: the state, the bound port, the TLS settings when the server
/// serves HTTPS itself, and what the first start created.
pub struct Prepared {
    pub state: AppState,
    pub listener: TcpListener,
    /// The metrics listener (`--metrics-listen`), apart from the public one.
    pub metrics: Option<TcpListener>,
    pub tls: Option<std::sync::Arc<tls::ServerConfig>>,
    pub report: Option<FirstStartReport>,
}

/// Reads the TLS files, opens the database, creates the first authority on first start, and
/// binds the port.
pub async fn prepare(config: &Config) -> Result<Prepared, StartError> {
    let addr = config.listen_addr()?;
    // Bad TLS files are reported before anything is opened or written.
    let tls = match config.tls_files()? {
        Some((cert, key)) => Some(tls::server_config(cert, key)?),
        None => None,
    };
    let pool = config.pool_options(config.db_max_connections);
    let random = Random::os();
    let db = Db::open(&config.database_url, &pool, config.vault(&random)?).await?;
    let first = FirstStart {
        authority_name: config.authority_name.clone(),
        region_code: config.authority_region.clone(),
        admin_username: config.admin_username.clone(),
        admin_password: config.admin_password.clone().map(Secret::new),
    };
    let report = bootstrap::ensure_first_authority(&db, &first, Millis::now(), &random).await.map_err(|e| match e {
        ecert_core::Error::Domain(d) => StartError::FirstStart(d.message(Lang::En)),
        other => StartError::FirstStart(other.to_string()),
    })?;
    // Issue 17 §3: the platform's keys exist and open before the first request (`/readyz`).
    ecert_core::jws::ensure_keys(&db, Millis::now(), &random).await.map_err(|e| {
        StartError::FirstStart(format!("the platform signing keys do not open (is the data key this database's?): {e}"))
    })?;
    let listener = bind(addr).await?;
    let metrics = match config.metrics_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    Ok(Prepared { state: app_state(config, db, random)?, listener, metrics, tls, report })
}

async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|e| StartError::Listen {
        addr: addr.to_string(),
        reason: if e.kind() == std::io::ErrorKind::AddrInUse {
            "the address is already in use (is another server running there?)".to_owned()
        } else {
            e.to_string()
        },
    })
}

/// The database a command works on: one connection, migrated and settled like a start.
async fn open_for_command(config: &Config) -> Result<Db, StartError> {
    let pool = config.pool_options(1);
    let random = Random::os();
    Ok(Db::open(&config.database_url, &pool, config.vault(&random)?).await?)
}

/// Runs an administration command (`ecert-server staff|authority|migrate|purge|rotate-keys|
/// backup`) against the configured database; answers what it did, to be printed.
pub async fn command(config: &Config, command: &Command) -> Result<String, StartError> {
    let db = open_for_command(config).await?;
    let answered = run_command(&db, config, command).await;
    db.close().await;
    answered
}

async fn run_command(db: &Db, config: &Config, command: &Command) -> Result<String, StartError> {
    use ecert_core::{authority, jws, purge, staff};
    let random = Random::os();
    let now = Millis::now();
    let failed = |what: String| move |e: ecert_core::Error| StartError::Command(format!("{what}: {e}"));
    match command {
        Command::Staff(StaffCommand::Add { authority, username, name, duties }) => {
            let duties = staff::Duties::parse(duties).ok_or_else(|| {
                StartError::Command(format!(
                    "--duties `{duties}`: give administrator, operator and/or auditor (an auditor alone)"
                ))
            })?;
            let member = staff::NewMember { username: username.clone(), display_name: name.clone(), duties };
            let password = staff::add_from_command_line(db, authority, &member, now, &random)
                .await
                .map_err(failed(format!("cannot add `{username}` to the authority coded {authority}")))?;
            Ok(format!("added staff member `{username}`; password (shown once): {}", password.expose()))
        }
        Command::Staff(StaffCommand::Reset { username }) => {
            let password = staff::reset_from_command_line(db, username, now, &random)
                .await
                .map_err(failed(format!("cannot reset `{username}`")))?;
            Ok(format!("new password of `{username}` (shown once): {}", password.expose()))
        }
        Command::Staff(StaffCommand::Unlock { username }) => {
            let fail = failed(format!("cannot unlock `{username}`"));
            let staff = staff::unlock(db, username).await.map_err(&fail)?;
            let counters = ecert_core::party::unlock_counter(db, username).await.map_err(&fail)?;
            match (staff, counters) {
                (true, _) => Ok(format!("unlocked staff member `{username}`")),
                (false, true) => Ok(format!("unlocked counter `{username}`")),
                (false, false) => Err(StartError::Command(format!("no staff member or counter is named `{username}`"))),
            }
        }
        Command::Authority(AuthorityCommand::Add { parent, region, name }) => {
            let made = authority::add_from_command_line(db, parent, name, region, now, &random)
                .await
                .map_err(failed(format!("cannot add the authority {region} below {parent}")))?;
            Ok(format!(
                "added authority {} {} ({}); give it an administrator with `staff add --authority {}`",
                made.region_code,
                made.name,
                made.level.as_str(),
                made.region_code
            ))
        }
        Command::Certificate(CertificateCommand::Validity { serial, until }) => {
            let set = ecert_core::validity::set_from_command_line(db, serial, until, now, &random)
                .await
                .map_err(failed(format!("cannot set the validity of `{serial}`")))?;
            Ok(format!("certificate {} of {} is valid until {}", set.serial, set.institution_name, set.last_day))
        }
        Command::Migrate => Ok(format!("the {} database is migrated", db.backend().name())),
        Command::Purge => {
            let purged = purge::purge(db, now).await.map_err(failed("cannot purge".into()))?;
            let lines: Vec<String> = purged.tables.iter().map(|(table, n)| format!("  {table}: {n}")).collect();
            let days = ecert_core::stats::roll_up_usage(db, now)
                .await
                .map_err(failed("cannot roll the usage statistics up".into()))?;
            Ok(format!(
                "purged {} expired rows\n{}\nrolled up the usage of {days} more days for the statistics",
                purged.total(),
                lines.join("\n")
            ))
        }
        Command::RotateKeys => {
            let made = jws::rotate(db, now, &random).await.map_err(failed("cannot rotate the signing keys".into()))?;
            let lines: Vec<String> = made.iter().map(|(purpose, kid)| format!("  {}: {kid}", purpose.name())).collect();
            Ok(format!("new signing keys (the old ones stay published)\n{}", lines.join("\n")))
        }
        Command::Backup { file } => backup(db, config, file).await,
    }
}

/// `backup FILE`: SQLite copies itself (`VACUUM INTO`, a consistent snapshot while writers
/// go on); PostgreSQL is dumped by `pg_dump`. An existing file is never overwritten.
async fn backup(db: &Db, config: &Config, file: &std::path::Path) -> Result<String, StartError> {
    if file.exists() {
        return Err(StartError::Command(format!("{} exists already: name a new file", file.display())));
    }
    let shown = file.display().to_string();
    match db.backend() {
        ecert_core::store::Backend::Sqlite => {
            db.execute(ecert_core::store::query("VACUUM INTO $1").bind(shown.clone()))
                .await
                .map_err(|e| StartError::Command(format!("cannot write {shown}: {e}")))?;
        }
        ecert_core::store::Backend::Postgres => {
            let status = std::process::Command::new("pg_dump")
                .args(["--format=custom", "--file"])
                .arg(file)
                .arg(&config.database_url)
                .status()
                .map_err(|e| StartError::Command(format!("cannot run pg_dump (apt install postgresql-client): {e}")))?;
            if !status.success() {
                return Err(StartError::Command(format!("pg_dump failed ({status}); nothing is complete at {shown}")));
            }
        }
    }
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or_default();
    Ok(format!("backed up the {} database to {shown} ({bytes} bytes)", db.backend().name()))
}

/// Issue 16 §6: every few seconds, the queued SMS messages whose next attempt is due (every app
/// server does this; a lease keeps two from sending one message).
fn spawn_sms_delivery(db: Db, gateway: ecert_core::sms::SmsGateway) {
    tokio::spawn(async move {
        let every = Duration::from_secs(ecert_core::sms::DELIVER_EVERY_SECONDS);
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = ecert_core::sms::deliver_due(&db, &gateway, 100, ecert_core::Millis::now).await {
                tracing::warn!(error = %e, "SMS delivery round failed; trying again later");
            }
        }
    });
}

/// Issue 18 §3: every second, the directory feed's pages to the subscribers' webhooks that are
/// due (every app server does this; a lease on each subscriber keeps their pages in order).
fn spawn_directory_webhooks(db: Db) {
    tokio::spawn(async move {
        let every = Duration::from_millis(ecert_core::feed::DELIVER_EVERY_MILLIS);
        let pusher = ecert_core::feed::Pusher::default();
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = ecert_core::feed::deliver_due(&db, &pusher, 100, ecert_core::Millis::now).await {
                tracing::warn!(error = %e, "directory webhook round failed; trying again later");
            }
        }
    });
}

/// Every [`ecert_core::purge::PURGE_EVERY_MINUTES`], in the background while the server runs:
/// each app server purges (the deletes are idempotent, so several at once do no harm) and rolls
/// the usage of the days that ended up for the statistics (once per day, whichever server is first).
fn spawn_purge(db: Db) {
    tokio::spawn(async move {
        let every = Duration::from_secs(ecert_core::purge::PURGE_EVERY_MINUTES * 60);
        loop {
            match ecert_core::purge::purge(&db, ecert_core::Millis::now()).await {
                Ok(purged) => {
                    metrics::METRICS.purged(&purged.tables);
                    if purged.total() > 0 {
                        tracing::info!(rows = purged.total(), "purged expired rows");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "purge failed; trying again later"),
            }
            // Issue 15 §3: the usage of the days that ended, counted once for the statistics.
            match ecert_core::stats::roll_up_usage(&db, ecert_core::Millis::now()).await {
                Ok(days) => {
                    metrics::METRICS.rolled_up(u64::try_from(days).unwrap_or(0));
                    if days > 0 {
                        tracing::info!(days, "rolled the usage statistics up");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "usage roll-up failed; trying again later"),
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Runs the server until SIGTERM or Ctrl-C, then lets running requests finish.
pub async fn run(config: Config) -> Result<(), StartError> {
    if let Some(cmd) = &config.command {
        println!("{}", command(&config, cmd).await?);
        return Ok(());
    }
    let Prepared { state, listener, metrics: metrics_listener, tls, report } = prepare(&config).await?;
    let db = state.db.clone();
    if let Some(report) = &report {
        print_first_start(report, &config.state_dir());
    }
    print_urls(&config);
    spawn_purge(db.clone());
    spawn_sms_delivery(db.clone(), state.sms.clone());
    spawn_directory_webhooks(db.clone());
    // Issue 17 §2: scan logins moved through the other app servers wake this one's long polls.
    tokio::spawn(ecert_core::login::changes::listen(db.clone()));
    if let Some(listener) = metrics_listener {
        let router = metrics::router(db.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(tcp::NoDelayListener::new(listener), router).await {
                tracing::error!(%error, "the metrics listener stopped");
            }
        });
    }
    tracing::info!(backend = db.backend().name(), addr = %config.listen, "serving");

    let app = http::router(state);
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let served = match tls {
        Some(tls) => {
            let tls = tls::TlsListener::new(listener, tls).map_err(StartError::Serve)?;
            serve_until_stopped(tls, app, grace).await
        }
        None => serve_until_stopped(tcp::NoDelayListener::new(listener), app, grace).await,
    };
    db.close().await;
    tracing::info!("stopped");
    served
}

/// Serves until SIGTERM or Ctrl-C, then gives running requests `grace` to finish.
async fn serve_until_stopped<L>(listener: L, app: axum::Router, grace: Duration) -> Result<(), StartError>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
    http::Peer: for<'a> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = app.into_make_service_with_connect_info::<http::Peer>();
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        http::DRAINING.store(true, std::sync::atomic::Ordering::SeqCst);
        ecert_core::login::changes::stop_waiting();
        tracing::info!("shutting down: finishing running requests");
        let _ = stop_tx.send(());
    });
    tokio::select! {
        result = serve => result.map_err(StartError::Serve),
        () = async { let _ = stop_rx.await; tokio::time::sleep(grace).await } => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

/// Printed to the terminal, not to the log: the generated password must not land in log files.
/// The first start's credentials. A generated password is printed only to a terminal, where a
/// person reads it; when stdout is a pipe or a file (a service manager, a container's log
/// collector), it goes into a file only this user may read, and stdout names the file.
fn print_first_start(report: &FirstStartReport, state_dir: &std::path::Path) {
    println!(
        "\n  首次启动：已创建第一个登记管理机关和工作人员管理员账号 / First start: created the first registration authority and its staff administrator"
    );
    println!("    user name / 用户名: {}", report.admin_username);
    match &report.generated_password {
        Some(password) if std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
            println!("    password  / 密码:   {}", password.expose());
            println!("    This password is shown only once. 此密码仅显示一次，请妥善保存。");
        }
        Some(password) => {
            let path = state_dir.join(FIRST_START_PASSWORD_FILE);
            match write_private(&path, password.expose()) {
                Ok(()) => println!(
                    "    password  / 密码:   in {} (readable by this user only; delete it once read / 阅后请删除)",
                    path.display()
                ),
                Err(e) => {
                    // The account exists now and a later start makes no new password: without
                    // this line nobody could sign in.
                    eprintln!("warning: cannot write {}: {e}; printing the password instead", path.display());
                    println!("    password  / 密码:   {}", password.expose());
                }
            }
        }
        None => println!("    password  / 密码:   (from ECERT_ADMIN_PASSWORD)"),
    }
}

/// The file a generated first-start password goes to when nobody watches stdout.
pub const FIRST_START_PASSWORD_FILE: &str = "first-start-admin-password.txt";

/// Writes `text` to a new file that only this user may read (0600 on Unix).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{text}")
}

fn print_urls(config: &Config) {
    let base = config.public_url();
    println!("\n  ecert-server {} is up / 已启动", env!("CARGO_PKG_VERSION"));
    println!("    Staff console     工作台     {base}/console");
    println!("    Manager dashboard 管理人后台 {base}/dashboard");
    println!("    Verifier page     柜台核验   {base}/verify");
    println!("    Health            健康检查   {base}/readyz");
    if let Some(addr) = config.metrics_listen {
        println!("    Metrics           监控指标   http://{addr}/metrics");
    }
    println!();
}
