//! The registration authority's side: the first start (`bootstrap`), the tree of authorities
//! (`authority`, R22), staff, their duties, sessions and action log (`staff`), issuing a certificate to an institution (`certificate`, R1–R2) and recording its
//! changes (`changes`, R14–R15), the identity check of named persons (`identity`), relying
//! parties and their counters (`party`), the directory change feed for provincial platforms (`feed`), the registration business filed with the certificate (`filing`, R23), establishment registration by an applicant's account (`applicant`, `establishment`), the SMS gateway (`sms`, R13), the statistics and lists of an authority's subtree (`stats`), and a certificate's validity (`validity`, R20).
//!
//! Staff act only within their own authority: every use-case here must check the staff caller's
//! authority inside the transaction that writes, and must not trust an id the page sent.

pub mod applicant;
pub mod archive;
pub mod authority;
#[cfg(feature = "server")]
pub mod bootstrap;
pub mod catalogue;
pub mod certificate;
pub mod changes;
#[cfg(feature = "server")]
pub mod directory;
pub mod establishment;
pub mod feed;
pub mod filing;
pub mod identity;
#[cfg(feature = "server")]
pub mod outbound;
pub mod party;
pub mod roster;
pub mod sms;
pub mod staff;
pub mod stats;
pub mod validity;
