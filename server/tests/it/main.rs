//! The integration suite of ecert-server, one binary: the real router in process, and the
//! `ecert-server` binary run as a child process (`binary`). Runs on SQLite, and on PostgreSQL
//! when `ECERT_TEST_DATABASE_URL` names one (scripts/test does both).
//!
//! All tests share this process: nothing here sets environment variables, and per-test files
//! live in directories of their own (`support::scratch_dir`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests stop on what they did not expect

mod api_errors;
mod app_helpers;
mod authorization;
mod binary;
mod crash;
mod directory_api;
mod duties;
mod http;
mod openapi;
mod openapi_doc;
mod sign;
mod support;
mod verify_api;
