//! The demo relying party's suite, one test binary: its binary as a person runs it (`cli`), and
//! scan login over OpenID Connect against the platform's real router (`oidc`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests stop on what they did not expect

mod cli;
mod oidc;
