//! The system check: a server function that asks the database, shown on the home page. It is
//! the smallest full round trip (browser → server function → database → browser).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    /// "SQLite" or "PostgreSQL".
    pub database: String,
    pub version: String,
}

#[server(endpoint = "system_status")]
pub async fn system_status() -> Result<StatusView, AppError> {
    let state = crate::state::app_state()?;
    state.db.ping().await.map_err(ecert_core::Error::from)?;
    Ok(StatusView { database: state.db.backend().name().to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() })
}
