//! The integration suite of ecert-core, one binary. Runs on SQLite, and on PostgreSQL when
//! `ECERT_TEST_DATABASE_URL` names one (scripts/test does both).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests stop on what they did not expect

mod authorities;
mod certificate;
mod delegation;
mod directory_feed;
mod establishment;
mod filings;
mod fuzz;
mod grants_by_scan;
mod identity;
mod login_wait;
mod new_phone;
mod presentation;
mod scenarios;
mod seal;
mod signing;
mod sms;
mod staff;
mod statistics;
mod storage;
mod support;
mod validity;
