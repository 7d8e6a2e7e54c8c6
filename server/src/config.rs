//! Configuration: command-line flags, environment variables and an optional TOML file, in that
//! order of precedence, over documented defaults. `ecert-server --help` lists every setting.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};

#[derive(Parser, Clone, Debug)]
#[command(
    name = "ecert-server",
    version,
    about = "事业单位法人电子证书平台 — legal-person electronic certificate platform for public institutions",
    long_about = "Serves the staff console, the manager dashboard, the scan-login, verifier and public \
                  verification pages, the holder's mobile wallet and the JSON API.\n\n\
                  Every setting can be given as a flag, as the environment variable shown, or as a key \
                  of the TOML file named by --config (the flag name with `_` for `-`, e.g. \
                  `database_url = \"sqlite:data/ecert.db\"`). Flags win over the environment, the \
                  environment wins over the file."
)]
pub struct Config {
    /// TOML file with settings (keys: the long flag names with `_` instead of `-`).
    #[arg(long, env = "ECERT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address and port to listen on.
    #[arg(long, env = "ECERT_LISTEN", default_value = "127.0.0.1:3000", value_name = "ADDR:PORT")]
    pub listen: String,

    /// Database: `sqlite:PATH` (embedded, created if missing) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite:data/ecert.db", hide_env_values = true)]
    pub database_url: String,

    /// Data key sealing ID numbers and mobiles at rest (R16): 32 random bytes in base64
    /// (`head -c 32 /dev/urandom | base64`). Every app server of one database needs the same key;
    /// keep a copy apart from the database's backups. Wins over --data-key-file.
    #[arg(long, env = "ECERT_DATA_KEY", hide_env_values = true)]
    pub data_key: Option<String>,

    /// File holding the data key, made (owner-only) if missing [default: `ecert-data.key` beside
    /// a SQLite database; with PostgreSQL this or ECERT_DATA_KEY must be set].
    #[arg(long, env = "ECERT_DATA_KEY_FILE", value_name = "FILE")]
    pub data_key_file: Option<PathBuf>,

    /// Largest number of pooled database connections.
    #[arg(long, env = "ECERT_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// SQLite only: the write-ahead log's size, in MiB of pages, past which writes wait
    /// while it is copied into the database and starts over. A larger bound rides out a longer
    /// burst of writes on a slow disk before they wait, and needs that much more disk; a read
    /// that outlasts the wait (an export, a backup) lets the log grow past it meanwhile (see
    /// docs/scaling.md, *SQLite*).
    #[arg(long, env = "ECERT_SQLITE_WAL_LIMIT_MB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=16_384), value_name = "MIB")]
    pub sqlite_wal_limit_mb: u32,

    /// SQLite only: the page size, in bytes, of a database this server creates (512 to 65,536,
    /// a power of two); a database that exists keeps its own. Smaller pages write fewer bytes
    /// to the write-ahead log per change on a slow disk (see docs/scaling.md, *SQLite*).
    #[arg(long, env = "ECERT_SQLITE_PAGE_SIZE", default_value_t = 4096, value_parser = page_size, value_name = "BYTES")]
    pub sqlite_page_size: u32,

    /// Directory of the built site (`pkg/` with the WASM bundle, CSS, public assets).
    #[arg(long, env = "ECERT_SITE_ROOT", default_value = "target/site", value_name = "DIR")]
    pub site_root: PathBuf,

    /// Address people reach this server at, used in QR codes and printed links
    /// [default: http://<listen>, or https://<listen> with --tls-cert].
    #[arg(long, env = "ECERT_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Serve HTTPS with this PEM certificate chain (the server's certificate first); needs
    /// --tls-key. Without it the server speaks plain HTTP, for a reverse proxy that terminates TLS.
    #[arg(long, env = "ECERT_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, env = "ECERT_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Name of the first registration authority, created on first start.
    #[arg(long, env = "ECERT_AUTHORITY_NAME", default_value = "国家事业单位登记管理局")]
    pub authority_name: String,

    /// Administrative division code (GB/T 2260) of the first registration authority.
    #[arg(long, env = "ECERT_AUTHORITY_REGION", default_value = "100000", value_name = "CODE")]
    pub authority_region: String,

    /// User name of the staff administrator created on first start.
    #[arg(long, env = "ECERT_ADMIN_USERNAME", default_value = "admin")]
    pub admin_username: String,

    /// Password of that administrator (at least 10 characters); generated and printed once if unset.
    #[arg(long, env = "ECERT_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Minutes a certificate claim QR code stays valid (R2), 1 to 1440.
    #[arg(long, env = "ECERT_CLAIM_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=1440))]
    pub claim_minutes: i64,

    /// Years the archive package of every issue and change is kept before the purge deletes it
    /// (seed 002's archive rules), 1 to 100.
    #[arg(long, env = "ECERT_ARCHIVE_YEARS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=100))]
    pub archive_years: i64,

    /// Years a certificate is valid from its issue or renewal (R20), 1 to 30; renewal opens
    /// three months before the end.
    #[arg(long, env = "ECERT_VALIDITY_YEARS", default_value_t = 5, value_parser = clap::value_parser!(i64).range(1..=30))]
    pub validity_years: i64,

    /// Identity service (R4) asked to confirm name and ID number pairs: `http://HOST[:PORT]/PATH`
    /// taking `{"name","id_number"}` and answering `{"match": bool}` [default: local form checks only].
    #[arg(long, env = "ECERT_IDENTITY_URL", value_name = "URL")]
    pub identity_url: Option<String>,

    /// Milliseconds to wait for the identity service before refusing with "unavailable".
    #[arg(long, env = "ECERT_IDENTITY_TIMEOUT_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub identity_timeout_ms: u64,

    /// SMS gateway (R13) taking `{"id","mobile","template","params"}` signed with
    /// ECERT_SMS_SECRET: `http://HOST[:PORT]/PATH` [default: the development outbox, read in
    /// the console].
    #[arg(long, env = "ECERT_SMS_URL", value_name = "URL")]
    pub sms_url: Option<String>,

    /// The gateway's template id of each kind of message, `KIND=ID` comma-separated; every kind
    /// needs one (today: `password_reset`).
    #[arg(long, env = "ECERT_SMS_TEMPLATES", value_name = "KIND=ID,…")]
    pub sms_templates: Option<String>,

    /// The secret shared with the SMS gateway (at least 16 characters): it checks the
    /// `X-Ecert-Signature` of every request with it.
    #[arg(long, env = "ECERT_SMS_SECRET", hide_env_values = true)]
    pub sms_secret: Option<String>,

    /// Milliseconds to wait for the SMS gateway before an attempt counts as failed.
    #[arg(long, env = "ECERT_SMS_TIMEOUT_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub sms_timeout_ms: u64,

    /// Reverse proxies (IP addresses, comma-separated) whose `X-Forwarded-For` header names the
    /// client; from any other peer the header is ignored. The client address is what the phone
    /// shows of a browser asking for a scan login [default: none].
    #[arg(long = "trusted-proxy", env = "ECERT_TRUSTED_PROXIES", value_delimiter = ',', value_name = "IP")]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Multiplies the per-minute limits on anonymous requests (login starts, sign-ins, wallet
    /// claims, public checks, SMS), per client address and in all; 0 turns them off.
    #[arg(long, env = "ECERT_RATE_LIMIT_SCALE", default_value_t = 1.0, value_name = "FACTOR")]
    pub rate_limit_scale: f64,

    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `ecert_server=debug,info`).
    #[arg(long, env = "ECERT_LOG", default_value = "info")]
    pub log: String,

    /// Log format.
    #[arg(long, env = "ECERT_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// Serve Prometheus metrics at `http://ADDR:PORT/metrics` on a listener of their own, apart
    /// from the public one (e.g. `127.0.0.1:9100`) [default: no metrics listener].
    #[arg(long, env = "ECERT_METRICS_LISTEN", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<SocketAddr>,

    /// Seconds to let running requests finish after SIGTERM or Ctrl-C (`/readyz` answers 503
    /// from the signal on, so that a balancer sends no new requests).
    #[arg(long, env = "ECERT_SHUTDOWN_GRACE_SECONDS", default_value_t = 20)]
    pub shutdown_grace_seconds: u64,

    /// What to do instead of serving (`ecert-server --help` lists them); nothing: serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Administration that must work without the web console, against the configured database;
/// each prints what it did and exits without serving.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum Command {
    /// Staff accounts: add one, reset a password, unlock after too many wrong passwords.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Registration authorities: add one below another.
    #[command(subcommand)]
    Authority(AuthorityCommand),
    /// Certificates: set the last day of validity (R20).
    #[command(subcommand)]
    Certificate(CertificateCommand),
    /// Applies the database migrations (as every start does) and exits.
    Migrate,
    /// Deletes the login, OIDC, sign and approval requests, presentations, SMS codes and
    /// sessions that expired over two hours ago and prints how many. A running server does the
    /// same every 10 minutes by itself.
    Purge,
    /// Retires the platform's signing keys (ID tokens, sign attestations) and makes new ones,
    /// printing their key ids. Retired keys stay in the JWKS, so what they signed still
    /// verifies; every app server signs with the new keys at once.
    RotateKeys,
    /// Writes a consistent copy of the database to FILE while servers keep running: SQLite's
    /// `VACUUM INTO`, or `pg_dump --format=custom` for PostgreSQL (Debian's postgresql-client).
    /// Keep the data key apart from it: the copy's ID numbers and mobiles are sealed under it.
    Backup {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(clap::Subcommand, Clone, Debug)]
pub enum StaffCommand {
    /// Adds a staff member to the authority with this division code and prints a generated
    /// password, shown once (e.g. the first administrator of an authority made by `authority add`).
    Add {
        /// The authority's division code (GB/T 2260).
        #[arg(long, value_name = "CODE")]
        authority: String,
        #[arg(long)]
        username: String,
        /// The member's name as the console shows it.
        #[arg(long)]
        name: String,
        /// `administrator`, `operator` and/or `auditor`, comma-separated; an auditor holds no
        /// other duty.
        #[arg(long, default_value = "operator")]
        duties: String,
    },
    /// Gives the member a new generated password, printed once; unlocks them and ends their
    /// sessions.
    Reset { username: String },
    /// Unlocks the staff member or counter with this user name after too many wrong passwords
    /// (their count starts again): the way back for a locked-out administrator.
    Unlock { username: String },
}

#[derive(clap::Subcommand, Clone, Debug)]
pub enum AuthorityCommand {
    /// Adds an authority below the one coded PARENT; then `staff add` gives it an administrator.
    Add {
        /// The parent authority's division code.
        #[arg(long, value_name = "CODE")]
        parent: String,
        /// The new authority's division code: lower than the parent's and inside its area.
        #[arg(long, value_name = "CODE")]
        region: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(clap::Subcommand, Clone, Debug)]
pub enum CertificateCommand {
    /// Sets the last day of validity of the active certificate SERIAL: for a certificate brought
    /// over from paper, whose last day is printed on it, or to correct one. A day already past
    /// makes it lapse at once; staff renew it in the console. Recorded in the action log.
    Validity {
        #[arg(value_name = "SERIAL")]
        serial: String,
        /// The last valid day, YYYY-MM-DD (China Standard Time).
        #[arg(long, value_name = "DAY")]
        until: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the configuration file {path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    #[error("the configuration file {path} has an unknown setting `{key}` (known: {known})")]
    UnknownKey { path: String, key: String, known: String },
    #[error("the setting `{key}` in {path} must be a string, a number or a boolean")]
    BadValue { path: String, key: String },
    #[error("ECERT_LISTEN / --listen `{0}` is not an address and port such as 127.0.0.1:3000")]
    BadListen(String),
    #[error("{0}\n  (set ECERT_DATA_KEY or --data-key-file)")]
    DataKey(#[from] ecert_core::seal::KeyError),
    #[error(
        "a PostgreSQL database needs the data key that all its app servers share: set ECERT_DATA_KEY \
         (e.g. `head -c 32 /dev/urandom | base64`) or --data-key-file"
    )]
    DataKeyRequired,
    #[error("HTTPS needs both ECERT_TLS_CERT / --tls-cert and ECERT_TLS_KEY / --tls-key; only {0} is set")]
    TlsHalf(&'static str),
    #[error("{0}\n  (see ECERT_SMS_URL, ECERT_SMS_TEMPLATES and ECERT_SMS_SECRET)")]
    Sms(String),
}

impl Config {
    /// The database pool these settings ask for, with `max_connections` of them.
    pub fn pool_options(&self, max_connections: u32) -> ecert_core::store::PoolOptions {
        ecert_core::store::PoolOptions {
            max_connections,
            wal_bound_bytes: u64::from(self.sqlite_wal_limit_mb) << 20,
            sqlite_page_size: self.sqlite_page_size,
            ..ecert_core::store::PoolOptions::default()
        }
    }

    /// Reads flags, environment and the configuration file named by `--config` / `ECERT_CONFIG`.
    pub fn load_from<I, S>(args: I) -> Result<Config, LoadError>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        // First pass only to find the file; its values become the defaults of the second pass.
        let first = Config::try_parse_from(&args).map_err(LoadError::Cli)?;
        let mut command = Config::command();
        if let Some(path) = &first.config {
            for (key, value) in read_file(path)? {
                command = command.mut_arg(key, |arg| arg.default_value(value));
            }
        }
        let matches = command.try_get_matches_from(&args).map_err(LoadError::Cli)?;
        Config::from_arg_matches(&matches).map_err(LoadError::Cli)
    }

    /// The data key the settings name (R16): given, read from its file, or (SQLite only) read
    /// from or made in `ecert-data.key` beside the database file.
    pub fn vault(&self, random: &ecert_core::secret::Random) -> Result<ecert_core::seal::Vault, ConfigError> {
        use ecert_core::seal::Vault;
        if let Some(key) = self.data_key.as_deref().filter(|k| !k.trim().is_empty()) {
            return Ok(Vault::parse(key)?);
        }
        if let Some(path) = &self.data_key_file {
            return Ok(Vault::from_file(path, random)?);
        }
        if self.database_url.starts_with("postgres") {
            return Err(ConfigError::DataKeyRequired);
        }
        if self.sqlite_file().is_none() {
            // A database that ends with the process (or a URL that will be refused when opened)
            // may use a key that ends with it too.
            let mut key = [0u8; 32];
            random.fill(&mut key);
            return Ok(Vault::from_key(&key));
        }
        Ok(Vault::from_file(&self.state_dir().join("ecert-data.key"), random)?)
    }

    /// The file of a SQLite database URL; `None` for another database or one in memory.
    fn sqlite_file(&self) -> Option<&str> {
        let rest = self.database_url.strip_prefix("sqlite:")?.trim_start_matches("//");
        let file = rest.split('?').next().unwrap_or_default();
        (!file.is_empty() && file != ":memory:").then_some(file)
    }

    /// Where the server keeps files of its own: beside a SQLite database file, else the
    /// working directory.
    pub fn state_dir(&self) -> PathBuf {
        let dir = self.sqlite_file().and_then(|file| std::path::Path::new(file).parent());
        dir.map(std::path::Path::to_path_buf).unwrap_or_default()
    }

    /// The certificate chain and key files when the server serves HTTPS itself.
    pub fn tls_files(&self) -> Result<Option<(&std::path::Path, &std::path::Path)>, ConfigError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::TlsHalf("the certificate")),
            (None, Some(_)) => Err(ConfigError::TlsHalf("the key")),
        }
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| ConfigError::BadListen(self.listen.clone()))
    }

    /// The identity adapter the settings choose.
    pub fn identity(&self) -> ecert_core::identity::IdentityVerifier {
        use ecert_core::identity::{HttpVerifier, IdentityVerifier};
        match &self.identity_url {
            Some(url) if !url.trim().is_empty() => IdentityVerifier::Http(HttpVerifier {
                url: url.trim().to_owned(),
                timeout: std::time::Duration::from_millis(self.identity_timeout_ms),
            }),
            _ => IdentityVerifier::Local,
        }
    }

    /// The SMS gateway the settings choose: the HTTP gateway needs a template for every kind of
    /// message and a secret of 16 characters or more.
    pub fn sms(&self) -> Result<ecert_core::sms::SmsGateway, ConfigError> {
        use ecert_core::sms::{HttpSms, SmsGateway, SmsKind};
        let Some(url) = self.sms_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(SmsGateway::Outbox);
        };
        let parsed: Option<axum::http::Uri> = url.parse().ok();
        let plain = parsed.as_ref().is_some_and(|u| {
            u.scheme_str() == Some("http")
                && u.host().is_some()
                && !u.authority().is_some_and(|a| a.as_str().contains('@'))
        });
        if !plain {
            return Err(ConfigError::Sms(format!(
                "the SMS gateway `{url}` must be an http:// URL with a host and no user name or password"
            )));
        }
        let mut templates = Vec::new();
        for pair in self.sms_templates.as_deref().unwrap_or_default().split(',').filter(|p| !p.trim().is_empty()) {
            let (kind, id) = pair.split_once('=').unwrap_or((pair, ""));
            let kind = SmsKind::from_sql(kind.trim())
                .ok_or_else(|| ConfigError::Sms(format!("`{}` is not a kind of message", kind.trim())))?;
            if id.trim().is_empty() {
                return Err(ConfigError::Sms(format!("the template of `{kind}` is empty")));
            }
            templates.push((kind, id.trim().to_owned()));
        }
        if let Some(missing) = SmsKind::ALL.iter().find(|k| !templates.iter().any(|(t, _)| t == *k)) {
            return Err(ConfigError::Sms(format!("the SMS gateway needs a template for `{missing}`")));
        }
        let secret = self.sms_secret.clone().unwrap_or_default();
        if secret.chars().count() < 16 {
            return Err(ConfigError::Sms("the SMS gateway needs a shared secret of at least 16 characters".into()));
        }
        Ok(SmsGateway::Http(HttpSms {
            url: url.to_owned(),
            timeout: std::time::Duration::from_millis(self.sms_timeout_ms),
            templates,
            secret: ecert_core::secret::Secret::new(secret),
        }))
    }

    pub fn public_url(&self) -> String {
        let scheme = if self.tls_cert.is_some() { "https" } else { "http" };
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Cli(clap::Error),
    #[error(transparent)]
    File(#[from] ConfigError),
}

/// A SQLite page size ([`ecert_core::store::is_sqlite_page_size`]).
fn page_size(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n) if ecert_core::store::is_sqlite_page_size(n) => Ok(n),
        _ => Err(format!("`{value}` is not a power of two from 512 to 65536")),
    }
}

/// The file's settings as (argument id, value) pairs, checked against the known settings.
fn read_file(path: &PathBuf) -> Result<Vec<(String, String)>, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Parse { path: shown.clone(), message: e.message().to_owned() })?;
    let known: Vec<String> =
        Config::command().get_arguments().map(|a| a.get_id().to_string()).filter(|id| id != "config").collect();
    table
        .into_iter()
        .map(|(key, value)| {
            if !known.contains(&key) {
                return Err(ConfigError::UnknownKey { path: shown.clone(), key, known: known.join(", ") });
            }
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => return Err(ConfigError::BadValue { path: shown.clone(), key }),
            };
            Ok((key, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_documented_values() {
        let c = Config::load_from(["ecert-server"]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3000");
        assert_eq!(c.public_url(), "http://127.0.0.1:3000");
        assert_eq!(c.listen_addr().unwrap().port(), 3000);
    }

    #[test]
    fn flags_win_over_the_file_and_unknown_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("ecert-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ecert.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:4000\"\ndb_max_connections = 3\n").unwrap();
        let path = file.to_str().unwrap();
        let c = Config::load_from(["ecert-server", "--config", path]).unwrap();
        assert_eq!((c.listen.as_str(), c.db_max_connections), ("127.0.0.1:4000", 3));
        let c = Config::load_from(["ecert-server", "--config", path, "--listen", "127.0.0.1:5000"]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:5000");

        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let err = Config::load_from(["ecert-server", "--config", path]).unwrap_err();
        assert!(err.to_string().contains("unknown setting `lisen`"), "{err}");
    }

    /// Issue 17 §2: the SQLite WAL's bound is the operator's, in MiB, from a flag, the
    /// environment or the file; out of range it stops the start with the range.
    #[test]
    fn the_wal_bound_is_a_setting_in_mebibytes() {
        let c = Config::load_from(["ecert-server"]).unwrap();
        let pool = c.pool_options(16);
        assert_eq!((pool.max_connections, pool.wal_bound_bytes), (16, 64 << 20), "64 MiB");
        let c = Config::load_from(["ecert-server", "--sqlite-wal-limit-mb", "512"]).unwrap();
        assert_eq!(c.pool_options(1).wal_bound_bytes, 512 << 20);
        assert_eq!(c.pool_options(1).max_connections, 1);

        let dir = std::env::temp_dir().join(format!("ecert-config-wal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ecert.toml");
        std::fs::write(&file, "sqlite_wal_limit_mb = 8\n").unwrap();
        let c = Config::load_from(["ecert-server", "--config", file.to_str().unwrap()]).unwrap();
        assert_eq!(c.pool_options(1).wal_bound_bytes, 8 << 20);
        let _ = std::fs::remove_dir_all(&dir);

        for bad in ["0", "16385", "-1", "lots"] {
            let err = Config::load_from(["ecert-server", &format!("--sqlite-wal-limit-mb={bad}")]).unwrap_err();
            assert!(err.to_string().contains("--sqlite-wal-limit-mb"), "{bad}: {err}");
        }
    }

    /// Issue 17 §2: the page size of a SQLite database the server creates is the operator's;
    /// SQLite's own 4,096 by default, and anything SQLite would ignore stops the start.
    #[test]
    fn the_sqlite_page_size_is_a_setting() {
        let c = Config::load_from(["ecert-server"]).unwrap();
        assert_eq!(c.pool_options(1).sqlite_page_size, 4096);
        for good in [512, 1024, 2048, 65_536] {
            let c = Config::load_from(["ecert-server", &format!("--sqlite-page-size={good}")]).unwrap();
            assert_eq!(c.pool_options(1).sqlite_page_size, good);
        }
        for bad in ["0", "256", "1000", "3072", "131072", "-1024", "big"] {
            let err = Config::load_from(["ecert-server", &format!("--sqlite-page-size={bad}")]).unwrap_err();
            assert!(err.to_string().contains("--sqlite-page-size"), "{bad}: {err}");
        }
    }

    /// Every setting `--help` shows has its row in the README's table, with its variable.
    #[test]
    fn the_readme_lists_every_setting() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let command = Config::command();
        let mut rows = 0;
        for arg in command.get_arguments() {
            let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) else { continue };
            if long == "config" {
                continue; // the table's own introduction names it
            }
            let row = format!("| `--{long}` | `{}` |", env.to_string_lossy());
            assert!(readme.contains(&row), "README.md's configuration table lacks {row}");
            rows += 1;
        }
        assert!(rows > 20, "{rows}");
    }

    #[test]
    fn an_sms_gateway_needs_an_http_url_a_template_for_every_kind_and_a_long_secret() {
        use ecert_core::sms::{SmsGateway, SmsKind};
        let sms = |extra: &[&str]| {
            let args = ["ecert-server", "--sms-url", "http://127.0.0.1:9/send"].iter().chain(extra).copied();
            Config::load_from(args.collect::<Vec<_>>()).unwrap().sms()
        };
        assert!(matches!(Config::load_from(["ecert-server"]).unwrap().sms(), Ok(SmsGateway::Outbox)));
        let said = |r: Result<SmsGateway, ConfigError>| r.map(|_| String::new()).unwrap_or_else(|e| e.to_string());
        let secret = ["--sms-secret", "sixteen-chars-or-more"];
        assert!(said(sms(&secret)).contains("needs a template for `password_reset`"));
        let unknown = [&secret[..], &["--sms-templates", "welcome=SMS_1"]].concat();
        assert!(said(sms(&unknown)).contains("`welcome` is not a kind of message"));
        let templates = "password_reset=SMS_1,redownload=SMS_2,applicant_sign_in=SMS_3";
        let short = ["--sms-templates", templates, "--sms-secret", "short"];
        assert!(said(sms(&short)).contains("at least 16 characters"));
        let one = [&secret[..], &["--sms-templates", "password_reset=SMS_1"]].concat();
        assert!(said(sms(&one)).contains("needs a template for `redownload`"), "R19's SMS too");
        let two = [&secret[..], &["--sms-templates", "password_reset=SMS_1,redownload=SMS_2"]].concat();
        assert!(said(sms(&two)).contains("needs a template for `applicant_sign_in`"), "establishment's too");
        let good =
            [&secret[..], &["--sms-templates", " password_reset = SMS_1 ,redownload=SMS_2,applicant_sign_in=SMS_3"]]
                .concat();
        match sms(&good) {
            Ok(SmsGateway::Http(http)) => {
                assert_eq!(http.template(SmsKind::PasswordReset), Some("SMS_1"));
                assert_eq!(http.template(SmsKind::Redownload), Some("SMS_2"));
                assert_eq!(http.template(SmsKind::ApplicantSignIn), Some("SMS_3"));
            }
            other => panic!("{other:?}"),
        }
        let https = Config::load_from(["ecert-server", "--sms-url", "https://sms.example/send"]).unwrap();
        assert!(said(https.sms()).contains("must be an http:// URL"));
        let with_user = Config::load_from(["ecert-server", "--sms-url", "http://u:p@sms.example/send"]).unwrap();
        assert!(said(with_user.sms()).contains("no user name or password"));
    }

    #[test]
    fn a_bad_listen_address_is_explained() {
        let c = Config::load_from(["ecert-server", "--listen", "localhost"]).unwrap();
        assert!(c.listen_addr().unwrap_err().to_string().contains("127.0.0.1:3000"));
    }
}
