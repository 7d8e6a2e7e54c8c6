//! Secrets and signatures (server only): random ids, tokens and password hashes (`secret`), the
//! sealing of personal fields at rest (`seal`, R16), signed tokens for relying parties (`jws`),
//! and one-time codes (`code`). These modules know no rule of the domain: they are called by it.
//!
//! They must not decide who may do what, nor read the database but through `store`.

pub mod code;
pub mod jws;
pub mod seal;
pub mod secret;
