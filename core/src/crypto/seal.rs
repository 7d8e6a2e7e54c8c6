//! R16: personal data is protected at rest. ID numbers and mobiles are sealed with AES-256-GCM
//! under the deployment's data key before they are written, and opened only where they are
//! compared or shown (masked). A stolen database file or backup without the key holds no ID
//! number and no mobile.
//!
//! A sealed value reads `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The nonce is 96
//! random bits per value; the field's name is the associated data, so a value moved to another
//! column does not open. The key id (the first 8 bytes of a SHA-256 over the key, in hex) names
//! the key without revealing it: every app server of one database must hold the same key, and
//! [`settle_key`] refuses to start one that holds another.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use crate::secret::Random;
use crate::store::{ConnectError, Db, Tx};
use crate::{Millis, store::query};

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

/// Which personal field a value is; its name is bound into the seal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    IdNumber,
    Mobile,
}

impl Field {
    fn aad(self) -> &'static [u8] {
        match self {
            Field::IdNumber => b"ecert/id_number",
            Field::Mobile => b"ecert/mobile",
        }
    }
}

/// The data key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the data key must be 32 bytes in base64 (e.g. `head -c 32 /dev/urandom | base64`)")]
    Malformed,
    #[error("cannot read the data key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot create the data key file {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// A stored value that does not open under this key.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("a personal field was sealed with data key {0}, which this server does not hold")]
    OtherKey(String),
    #[error("a personal field is damaged or was moved from another field")]
    Damaged,
}

/// The deployment's data key. Cheap to clone; never printed.
#[derive(Clone)]
pub struct Vault(std::sync::Arc<Inner>);

struct Inner {
    id: String,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Vault").field(&self.0.id).finish()
    }
}

impl Vault {
    pub fn from_key(key: &[u8; 32]) -> Vault {
        let digest = Sha256::new().chain_update(b"ecert data key id\0").chain_update(key).finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Vault(std::sync::Arc::new(Inner { id, cipher: Aes256Gcm::new(key.into()) }))
    }

    /// A key written as base64 (standard or URL-safe, padded or not).
    pub fn parse(text: &str) -> Result<Vault, KeyError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| KeyError::Malformed)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        Ok(Vault::from_key(&key))
    }

    /// The key in `path`, made (32 random bytes, base64, owner-only) when the file is missing.
    pub fn from_file(path: &std::path::Path, random: &Random) -> Result<Vault, KeyError> {
        let shown = || path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Vault::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                random.fill(&mut key);
                write_new(path, &format!("{}\n", STANDARD.encode(key)))
                    .map_err(|source| KeyError::Write { path: shown(), source })?;
                // Another process may have made it first: whatever is in the file is the key.
                let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read { path: shown(), source })?;
                Vault::parse(&text)
            }
            Err(source) => Err(KeyError::Read { path: shown(), source }),
        }
    }

    /// The key's public name.
    pub fn key_id(&self) -> &str {
        &self.0.id
    }

    // The one `expect` of the product: its failure cannot happen (below), and a `Result` here
    // would ask every writer of a personal field to handle it.
    #[allow(clippy::expect_used)]
    pub fn seal(&self, field: Field, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        Random::os().fill(&mut nonce);
        let sealed = self
            .0
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: field.aad() })
            // AES-GCM refuses only messages over 64 GiB; personal fields are validated to a few
            // dozen bytes long before they get here.
            .expect("AES-GCM seals any message shorter than 64 GiB");
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{VERSION}.{}.{}", self.0.id, URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The plain value of a stored one. A value without the seal's prefix was written before
    /// sealing existed and is answered as it is; the first start with a data key seals those
    /// ([`settle_key`]).
    pub fn open(&self, field: Field, stored: &str) -> Result<String, OpenError> {
        let Some(rest) = stored.strip_prefix("v1.") else { return Ok(stored.to_owned()) };
        let (id, body) = rest.split_once('.').ok_or(OpenError::Damaged)?;
        if id != self.0.id {
            return Err(OpenError::OtherKey(id.to_owned()));
        }
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError::Damaged)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError::Damaged);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .0
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: field.aad() })
            .map_err(|_| OpenError::Damaged)?;
        String::from_utf8(plain).map_err(|_| OpenError::Damaged)
    }

    /// True when `stored` opens to `plain` (for "is this the same person" checks).
    pub fn matches(&self, field: Field, stored: &str, plain: &str) -> Result<bool, OpenError> {
        Ok(crate::secret::constant_time_eq(&self.open(field, stored)?, plain))
    }
}

/// Creates `path` with owner-only permissions; an existing file is left alone.
fn write_new(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => file.write_all(text.as_bytes()).and_then(|_| file.sync_all()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// The database side

/// The personal columns: table, key column, column, field.
const COLUMNS: [(&str, &str, &str, Field); 5] = [
    ("institution", "id", "legal_rep_id_number", Field::IdNumber),
    ("institution", "id", "legal_rep_mobile", Field::Mobile),
    ("holder", "id", "id_number", Field::IdNumber),
    ("holder", "id", "mobile", Field::Mobile),
    ("sms_outbox", "id", "mobile", Field::Mobile),
];

/// Makes sure the database's personal fields are sealed with this server's data key, in one
/// write transaction. The first start after sealing came in records the key's id and seals the
/// values written before (every later write seals its own); a later start only compares ids and
/// refuses a server holding another key.
pub async fn settle_key(db: &Db) -> Result<(), ConnectError> {
    let vault = db.vault().clone();
    let mut tx = db.begin_write().await.map_err(ConnectError::Connect)?;
    let recorded = tx
        .execute(
            query("INSERT INTO data_key (slot, id, created_at) VALUES (1, $1, $2) ON CONFLICT (slot) DO NOTHING")
                .bind(vault.key_id())
                .bind(Millis::now().0),
        )
        .await
        .map_err(ConnectError::Connect)?;
    if recorded == 1 {
        let sealed = seal_plain_rows(&mut tx, &vault).await.map_err(ConnectError::Connect)?;
        if sealed > 0 {
            tracing::info!(sealed, key = vault.key_id(), "sealed personal fields written before sealing (R16)");
        }
    } else {
        let sealed_with: String =
            tx.fetch_one(query("SELECT id FROM data_key WHERE slot = 1")).await.map_err(ConnectError::Connect)?;
        if sealed_with != vault.key_id() {
            return Err(ConnectError::OtherDataKey { sealed_with, held: vault.key_id().to_owned() });
        }
    }
    tx.commit().await.map_err(ConnectError::Connect)
}

/// Seals the personal fields still in the clear; answers how many it sealed.
async fn seal_plain_rows(tx: &mut Tx, vault: &Vault) -> Result<u64, crate::store::StoreError> {
    let mut sealed = 0;
    for (table, key, column, field) in COLUMNS {
        let select = format!("SELECT {key}, {column} FROM {table} WHERE {column} NOT LIKE 'v1.%'");
        let rows: Vec<(String, String)> = tx.fetch_all(query(&select)).await?;
        let update = format!("UPDATE {table} SET {column} = $1 WHERE {key} = $2");
        for (id, plain) in rows {
            let value = vault.seal(field, &plain);
            sealed += tx.execute(query(&update).bind(&value).bind(&id)).await?;
        }
    }
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(byte: u8) -> Vault {
        Vault::from_key(&[byte; 32])
    }

    #[test]
    fn r16_a_sealed_value_opens_only_under_its_key_and_field() {
        let v = vault(1);
        let sealed = v.seal(Field::IdNumber, "11010519900101123X");
        assert!(sealed.starts_with(&format!("v1.{}.", v.key_id())));
        assert!(!sealed.contains("11010519900101123X") && !sealed.contains("1990"));
        assert_eq!(v.open(Field::IdNumber, &sealed).unwrap(), "11010519900101123X");
        assert_ne!(sealed, v.seal(Field::IdNumber, "11010519900101123X"), "a fresh nonce per value");
        assert!(matches!(v.open(Field::Mobile, &sealed), Err(OpenError::Damaged)), "bound to its field");
        assert!(matches!(vault(2).open(Field::IdNumber, &sealed), Err(OpenError::OtherKey(_))));
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(v.open(Field::IdNumber, &tampered), Err(OpenError::Damaged)));
        assert_eq!(v.open(Field::Mobile, "13812345678").unwrap(), "13812345678", "written before sealing");
        assert!(v.matches(Field::IdNumber, &sealed, "11010519900101123X").unwrap());
        assert!(!v.matches(Field::IdNumber, &sealed, "110105199001011231").unwrap());
    }

    #[test]
    fn keys_parse_from_base64_and_ids_differ() {
        let text = STANDARD.encode([9u8; 32]);
        assert_eq!(Vault::parse(&text).unwrap().key_id(), vault(9).key_id());
        assert_eq!(Vault::parse(&URL_SAFE_NO_PAD.encode([9u8; 32])).unwrap().key_id(), vault(9).key_id());
        assert_ne!(vault(9).key_id(), vault(8).key_id());
        assert!(matches!(Vault::parse("c2hvcnQ="), Err(KeyError::Malformed)));
        assert!(matches!(Vault::parse("not base64!"), Err(KeyError::Malformed)));
        assert!(!format!("{:?}", vault(9)).contains(&text));
    }

    #[test]
    fn a_key_file_is_made_once_owner_only_and_read_back() {
        let dir = std::env::temp_dir().join(format!("ecert-seal-{}", Random::os().id()));
        let path = dir.join("keys").join("data.key");
        let made = Vault::from_file(&path, &Random::os()).unwrap();
        let again = Vault::from_file(&path, &Random::os()).unwrap();
        assert_eq!(made.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
