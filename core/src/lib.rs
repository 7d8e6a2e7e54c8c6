//! The business of the legal-person electronic certificate platform (事业单位法人电子证书).
//!
//! Pure rules and shared types compile everywhere, including the WASM bundle; storage and the
//! use-cases that apply a rule and write its record in one transaction sit behind the `server`
//! feature. Nothing here knows about Leptos, axum or HTTP.

pub mod certificate;
pub mod changes;
#[cfg(feature = "server")]
pub mod code;
pub mod device;
pub mod error;
pub mod holder;
pub mod i18n;
pub mod identity;
pub mod kernel;
pub mod login;
pub mod mask;
pub mod oidc;
pub mod party;
pub mod presentation;
#[cfg(feature = "server")]
pub mod records;
#[cfg(feature = "server")]
pub(crate) mod scan;
pub mod signing;
pub mod sms;
pub mod staff;
pub mod time;
pub mod usage;
pub mod validate;

#[cfg(feature = "server")]
pub mod bootstrap;
#[cfg(feature = "server")]
pub mod jws;
#[cfg(feature = "server")]
pub mod seal;
#[cfg(feature = "server")]
pub mod secret;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod testing;

pub use error::{DomainError, FieldError, Problem};
#[cfg(feature = "server")]
pub use error::{Error, Result};
pub use i18n::Lang;
pub use time::Millis;
