//! Delegation (R3–R8): who holds a role in a certificate and what they may do (`holder`: the
//! pure rules and types, compiled to WASM too), and the device bindings through which they act
//! (`device`). The use-cases, server only, are split by what they touch: a role's life
//! (`roles`), grants (`grants`), what a caller may see (`views`), over the rows of `rows`.
//!
//! Who sees and manages whom is said once, in `holder` (`Caller::sees`, `Caller::manages`); the
//! use-cases must not restate it, and must re-check the caller inside the transaction that writes.

pub mod device;
pub mod holder;

#[cfg(feature = "server")]
mod face;
#[cfg(feature = "server")]
mod grants;
#[cfg(feature = "server")]
mod manage;
#[cfg(feature = "server")]
mod roles;
#[cfg(feature = "server")]
mod rows;
#[cfg(feature = "server")]
mod views;
