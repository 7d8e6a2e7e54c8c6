//! R16: personal data is protected at rest. ID numbers and mobiles are sealed with AES-256-GCM
//! under the deployment's data key before they are written, and opened only where they are
//! compared or shown (masked). A stolen database file or backup without the key holds no ID
//! number and no mobile.
//!
//! A sealed value reads `v2.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The nonce is 96
//! random bits per value; the associated data names the table, the column and the row's id
//! (issue 14 §5), so a value copied to another column or to another row does not open: someone
//! who can write the database but not read the key cannot give one person another's ID number.
//! The key id (the first 8 bytes of a SHA-256 over the key, in hex) names the key without
//! revealing it: every app server of one database must hold the same key, and [`settle_key`]
//! refuses to start one that holds another.
//!
//! Once a database is sealed, a value that is not (in the clear, or the first version's `v1.`
//! seal bound only to its field) is refused where it is read: [`settle_key`] seals both at
//! every start, so such a value can only be one written around the application.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use crate::secret::Random;
use crate::store::{ConnectError, Db, Tx};
use crate::{Millis, store::query};

const VERSION: &str = "v2";
const NONCE_LEN: usize = 12;

/// A personal column; with a row's id ([`Column::at`]) it is where a sealed value belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// `institution.legal_rep_id_number`
    RepIdNumber,
    /// `institution.legal_rep_mobile`
    RepMobile,
    /// `holder.id_number`
    HolderIdNumber,
    /// `holder.mobile`
    HolderMobile,
    /// `sms_outbox.mobile`
    OutboxMobile,
    /// `signing_key.private_key`: the platform's own signing keys (`jws`), not personal data
    /// but sealed the same way.
    SigningKey,
    /// `archive.content`: an issue's or change's package, persons' data included (issue 15 §3).
    ArchiveContent,
    /// `roster.legal_rep_id_number`: the registration list (应发尽发, issue 15 §3).
    RosterIdNumber,
    /// `roster.legal_rep_mobile`
    RosterMobile,
    /// `sms_message.mobile`: the queue of the SMS gateway (issue 16 §6).
    SmsMobile,
    /// `sms_message.params`: a message's template parameters, a live code among them.
    SmsParams,
    /// `directory_subscriber.webhook_secret`: the key a subscriber checks the feed's webhooks
    /// with (issue 18 §3), not personal data but sealed the same way.
    WebhookSecret,
    /// `filing.document`: a registration filing as it was signed (issue 18 §1); a change names
    /// the new legal representative.
    FilingDocument,
    /// `applicant.mobile`: an establishment applicant's account (issue 18 §1).
    ApplicantMobile,
    /// `establishment.form`: an establishment application; it names the legal representative.
    EstablishmentForm,
    /// `establishment_file.content`: an application's attached paper (base64).
    EstablishmentFile,
}

impl Column {
    const ALL: [Column; 16] = [
        Column::RepIdNumber,
        Column::RepMobile,
        Column::HolderIdNumber,
        Column::HolderMobile,
        Column::OutboxMobile,
        Column::SigningKey,
        Column::ArchiveContent,
        Column::RosterIdNumber,
        Column::RosterMobile,
        Column::SmsMobile,
        Column::SmsParams,
        Column::WebhookSecret,
        Column::FilingDocument,
        Column::ApplicantMobile,
        Column::EstablishmentForm,
        Column::EstablishmentFile,
    ];

    /// The table and the column (every personal table's key column is `id`).
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            Column::RepIdNumber => ("institution", "legal_rep_id_number"),
            Column::RepMobile => ("institution", "legal_rep_mobile"),
            Column::HolderIdNumber => ("holder", "id_number"),
            Column::HolderMobile => ("holder", "mobile"),
            Column::OutboxMobile => ("sms_outbox", "mobile"),
            Column::SigningKey => ("signing_key", "private_key"),
            Column::ArchiveContent => ("archive", "content"),
            Column::RosterIdNumber => ("roster", "legal_rep_id_number"),
            Column::RosterMobile => ("roster", "legal_rep_mobile"),
            Column::SmsMobile => ("sms_message", "mobile"),
            Column::SmsParams => ("sms_message", "params"),
            Column::WebhookSecret => ("directory_subscriber", "webhook_secret"),
            Column::FilingDocument => ("filing", "document"),
            Column::ApplicantMobile => ("applicant", "mobile"),
            Column::EstablishmentForm => ("establishment", "form"),
            Column::EstablishmentFile => ("establishment_file", "content"),
        }
    }

    /// The associated data of the first version's seal: the kind of field only.
    fn v1_aad(self) -> &'static [u8] {
        match self {
            Column::RepIdNumber | Column::HolderIdNumber => b"ecert/id_number",
            Column::RepMobile | Column::HolderMobile | Column::OutboxMobile => b"ecert/mobile",
            // Never sealed by the first version.
            Column::SigningKey => b"ecert/signing_key",
            Column::ArchiveContent => b"ecert/archive",
            Column::RosterIdNumber => b"ecert/id_number",
            Column::RosterMobile => b"ecert/mobile",
            Column::SmsMobile | Column::SmsParams => b"ecert/sms_message",
            Column::WebhookSecret => b"ecert/webhook_secret",
            Column::FilingDocument => b"ecert/filing",
            Column::ApplicantMobile => b"ecert/mobile",
            Column::EstablishmentForm => b"ecert/establishment",
            Column::EstablishmentFile => b"ecert/establishment_file",
        }
    }

    /// This column of the row whose id is `row`.
    pub fn at(self, row: &str) -> Place<'_> {
        Place { column: self, row }
    }
}

/// One column of one row: the associated data a value there is sealed under.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    column: Column,
    row: &'a str,
}

impl Place<'_> {
    fn aad(&self) -> Vec<u8> {
        let (table, column) = self.column.sql();
        format!("ecert/{VERSION}/{table}.{column}/{}", self.row).into_bytes()
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
    #[error("a personal field is damaged or was moved from another field or row")]
    Damaged,
    #[error("a personal field is not sealed although the database is (written around the application)")]
    Unsealed,
}

/// The deployment's data key. Cheap to clone; never printed.
#[derive(Clone)]
pub struct Vault(std::sync::Arc<Inner>);

struct Inner {
    id: String,
    cipher: Aes256Gcm,
    /// The key of [`Vault::mac`], derived from the data key.
    mac_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Vault").field(&self.0.id).finish()
    }
}

impl Vault {
    /// A value as the first version sealed it (for the tests of the upgrade).
    #[doc(hidden)]
    #[allow(clippy::expect_used)]
    pub fn seal_v1_for_test(&self, column: Column, plain: &str) -> String {
        let nonce = [7u8; NONCE_LEN];
        let sealed = self
            .0
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: column.v1_aad() })
            .expect("AES-GCM seals any message shorter than 64 GiB");
        format!("v1.{}.{}", self.0.id, URL_SAFE_NO_PAD.encode([&nonce[..], &sealed].concat()))
    }

    pub fn from_key(key: &[u8; 32]) -> Vault {
        let digest = Sha256::new().chain_update(b"ecert data key id\0").chain_update(key).finalize();
        let id = super::hex(&digest[..8]);
        let mac_key = Sha256::new().chain_update(b"ecert data mac key\0").chain_update(key).finalize().into();
        Vault(std::sync::Arc::new(Inner { id, cipher: Aes256Gcm::new(key.into()), mac_key }))
    }

    /// A key written as base64 (standard or URL-safe, padded or not).
    pub fn parse(text: &str) -> Result<Vault, KeyError> {
        let text = text.trim();
        let unpadded = text.trim_end_matches('=');
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| STANDARD_NO_PAD.decode(unpadded))
            .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
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

    /// A keyed digest of `data` for `label` (HMAC-SHA-256 under a key derived from the data key),
    /// base64url: what is stored to recognise a value later without keeping it, so that someone
    /// who reads the database but not the key cannot test guesses against it.
    pub fn mac(&self, label: &str, data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(hmac_sha256(&self.0.mac_key, &[label.as_bytes(), b"\0", data]))
    }

    // The one `expect` of the product: its failure cannot happen (below), and a `Result` here
    // would ask every writer of a personal field to handle it.
    #[allow(clippy::expect_used)]
    pub fn seal(&self, place: Place<'_>, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        Random::os().fill(&mut nonce);
        let sealed = self
            .0
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: &place.aad() })
            // AES-GCM refuses only messages over 64 GiB; personal fields are validated to a few
            // dozen bytes long before they get here.
            .expect("AES-GCM seals any message shorter than 64 GiB");
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{VERSION}.{}.{}", self.0.id, URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The plain value of a value stored at `place`.
    pub fn open(&self, place: Place<'_>, stored: &str) -> Result<String, OpenError> {
        let Some(rest) = stored.strip_prefix("v2.") else { return Err(OpenError::Unsealed) };
        self.decrypt(rest, &place.aad())
    }

    /// A value of the first version, bound to its kind of field only ([`settle_key`] reseals
    /// them bound to their rows).
    fn open_v1(&self, column: Column, stored: &str) -> Result<String, OpenError> {
        let rest = stored.strip_prefix("v1.").ok_or(OpenError::Unsealed)?;
        self.decrypt(rest, column.v1_aad())
    }

    /// `<key id>.<base64url(nonce ‖ sealed)>` opened under `aad`.
    fn decrypt(&self, rest: &str, aad: &[u8]) -> Result<String, OpenError> {
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
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
            .map_err(|_| OpenError::Damaged)?;
        String::from_utf8(plain).map_err(|_| OpenError::Damaged)
    }

    /// True when the value stored at `place` opens to `plain` (for "is this the same person").
    pub fn matches(&self, place: Place<'_>, stored: &str, plain: &str) -> Result<bool, OpenError> {
        Ok(crate::secret::constant_time_eq(&self.open(place, stored)?, plain))
    }
}

/// HMAC-SHA-256 (RFC 2104) of the concatenated `parts`, for a key of at most one block.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    let key = &key[..key.len().min(64)];
    block[..key.len()].copy_from_slice(key);
    let mut inner = Sha256::new().chain_update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    Sha256::new().chain_update(block.map(|b| b ^ 0x5c)).chain_update(inner.finalize()).finalize().into()
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

/// Makes sure the database's personal fields are sealed with this server's data key and bound
/// to their rows, in one write transaction. The first start after sealing came in records the
/// key's id; every start compares it (refusing a server that holds another key) and seals what
/// is not yet in this version: values written before sealing, and the first version's seals,
/// which were bound to their field only. It then records the version, and later starts skip
/// the scan (upgrade every server of a database together across a seal version).
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
    if recorded == 0 {
        let sealed_with: String =
            tx.fetch_one(query("SELECT id FROM data_key WHERE slot = 1")).await.map_err(ConnectError::Connect)?;
        if sealed_with != vault.key_id() {
            return Err(ConnectError::OtherDataKey { sealed_with, held: vault.key_id().to_owned() });
        }
    }
    // Every field was sealed in this version by an earlier start, and servers of this version
    // write nothing else: no need to read every row again.
    let settled: Option<String> = tx
        .fetch_one(query("SELECT sealed_version FROM data_key WHERE slot = 1"))
        .await
        .map_err(ConnectError::Connect)?;
    if settled.as_deref() == Some(VERSION) {
        return tx.commit().await.map_err(ConnectError::Connect);
    }
    let sealed = seal_old_rows(&mut tx, &vault).await?;
    if sealed > 0 {
        tracing::info!(sealed, key = vault.key_id(), "sealed personal fields and bound them to their rows (R16)");
    }
    tx.execute(query("UPDATE data_key SET sealed_version = $1 WHERE slot = 1").bind(VERSION))
        .await
        .map_err(ConnectError::Connect)?;
    tx.commit().await.map_err(ConnectError::Connect)
}

/// Seals the personal fields in the clear or under the first version; answers how many.
async fn seal_old_rows(tx: &mut Tx, vault: &Vault) -> Result<u64, ConnectError> {
    let mut sealed = 0;
    for column in Column::ALL {
        let (table, name) = column.sql();
        let select = format!("SELECT id, {name} FROM {table} WHERE {name} NOT LIKE '{VERSION}.%'");
        let rows: Vec<(String, String)> = tx.fetch_all(query(&select)).await.map_err(ConnectError::Connect)?;
        let update = format!("UPDATE {table} SET {name} = $1 WHERE id = $2");
        for (id, old) in rows {
            let plain = if old.starts_with("v1.") {
                vault
                    .open_v1(column, &old)
                    .map_err(|e| ConnectError::Unopenable(format!("{table}.{name} of {id}: {e}")))?
            } else {
                old
            };
            let value = vault.seal(column.at(&id), &plain);
            sealed += tx.execute(query(&update).bind(&value).bind(&id)).await.map_err(ConnectError::Connect)?;
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
    fn r16_a_sealed_value_opens_only_under_its_key_column_and_row() {
        let v = vault(1);
        let here = Column::HolderIdNumber.at("h1");
        let sealed = v.seal(here, "11010519900101123X");
        assert!(sealed.starts_with(&format!("v2.{}.", v.key_id())));
        assert!(!sealed.contains("11010519900101123X") && !sealed.contains("1990"));
        assert_eq!(v.open(here, &sealed).unwrap(), "11010519900101123X");
        assert_ne!(sealed, v.seal(here, "11010519900101123X"), "a fresh nonce per value");
        assert!(matches!(v.open(Column::HolderMobile.at("h1"), &sealed), Err(OpenError::Damaged)), "its column");
        assert!(matches!(v.open(Column::RepIdNumber.at("h1"), &sealed), Err(OpenError::Damaged)), "its table");
        // Issue 14 §5: copied into another person's row, it does not open.
        assert!(matches!(v.open(Column::HolderIdNumber.at("h2"), &sealed), Err(OpenError::Damaged)), "its row");
        assert!(matches!(vault(2).open(here, &sealed), Err(OpenError::OtherKey(_))));
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(v.open(here, &tampered), Err(OpenError::Damaged)));
        assert!(v.matches(here, &sealed, "11010519900101123X").unwrap());
        assert!(!v.matches(here, &sealed, "110105199001011231").unwrap());
    }

    #[test]
    fn r16_values_in_the_clear_or_under_the_first_version_are_refused_where_read() {
        let v = vault(1);
        let here = Column::HolderMobile.at("h1");
        assert!(matches!(v.open(here, "13812345678"), Err(OpenError::Unsealed)));
        // A first-version seal (bound to the kind of field only) opens only for the upgrade.
        let old = v.seal_v1_for_test(Column::HolderMobile, "13812345678");
        assert!(matches!(v.open(here, &old), Err(OpenError::Unsealed)));
        assert_eq!(v.open_v1(Column::HolderMobile, &old).unwrap(), "13812345678");
        assert_eq!(v.open_v1(Column::OutboxMobile, &old).unwrap(), "13812345678", "v1 bound the kind only");
        assert!(matches!(v.open_v1(Column::HolderIdNumber, &old), Err(OpenError::Damaged)));
    }

    #[test]
    fn hmac_matches_rfc_4231_and_the_mac_depends_on_the_key() {
        // RFC 4231, test case 1.
        let mac = hmac_sha256(&[0x0b; 20], &[b"Hi ", b"There"]);
        let hex = crate::crypto::hex(&mac);
        assert_eq!(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        assert_eq!(vault(1).mac("a", b"x"), vault(1).mac("a", b"x"));
        assert_ne!(vault(1).mac("a", b"x"), vault(2).mac("a", b"x"), "another key");
        assert_ne!(vault(1).mac("a", b"x"), vault(1).mac("b", b"x"), "another label");
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
