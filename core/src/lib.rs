//! The business of the legal-person electronic certificate platform (事业单位法人电子证书).
//!
//! Pure rules and shared types compile everywhere, including the WASM bundle; storage and the
//! use-cases that apply a rule and write its record in one transaction sit behind the `server`
//! feature. Nothing here knows about Leptos, axum or HTTP.
//!
//! The folders are the layers and the nouns (docs/architecture.md):
//!
//! | folder / file      | what                                                              |
//! |--------------------|-------------------------------------------------------------------|
//! | `kernel/`          | text enums, errors, languages, time, masking, field checks       |
//! | `store/`           | the one query API over SQLite and PostgreSQL (server)             |
//! | `crypto/`          | ids, tokens, password hashes, sealing, JWS, one-time codes (server) |
//! | `registry/`        | staff, institutions and certificates, changes, parties, SMS       |
//! | `delegation/`      | holders, grants and device bindings (R3–R8)                       |
//! | `login/`           | scan login (R11) and OpenID Connect for relying parties           |
//! | `signing.rs`       | scan to sign                                                      |
//! | `presentation.rs`  | presenting and checking a certificate (R9, R10)                   |
//! | `records.rs`, `usage.rs` | usage records (R12) and who may see them (R7)             |
//!
//! Each module is reachable at the crate root too (`ecert_core::holder`), which is how the
//! app and the server name them.

pub mod delegation;
pub mod kernel;
pub mod login;
pub mod presentation;
#[cfg(feature = "server")]
pub mod purge;
#[cfg(feature = "server")]
pub mod rate;
#[cfg(feature = "server")]
pub mod records;
pub mod registry;
pub mod signing;
pub mod usage;

#[cfg(feature = "server")]
pub mod crypto;
#[cfg(feature = "server")]
pub mod store;

#[cfg(feature = "server")]
pub use crypto::{code, jws, seal, secret};
pub use delegation::{device, holder};
pub use kernel::{error, i18n, mask, time, validate};
pub use login::oidc;
pub use registry::{
    applicant, archive, authority, catalogue, certificate, changes, establishment, feed, filing, identity, party,
    roster, sms, staff, stats, validity,
};
#[cfg(feature = "server")]
pub use registry::{bootstrap, directory};

pub use error::{DomainError, FieldError, Problem};
#[cfg(feature = "server")]
pub use error::{Error, Result};
pub use i18n::Lang;
pub use time::Millis;
