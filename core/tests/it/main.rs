//! The integration suite of ecert-core, one binary. Runs on SQLite, and on PostgreSQL when
//! `ECERT_TEST_DATABASE_URL` names one (scripts/test does both).

mod certificate;
mod delegation;
mod identity;
mod presentation;
mod seal;
mod signing;
mod staff;
mod storage;
mod support;
