//! Who is calling: every server function that needs a signed-in caller starts here.

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// The signed-in staff member, or `Unauthenticated`.
#[cfg(feature = "ssr")]
pub async fn staff() -> Result<ecert_core::staff::StaffView, AppError> {
    let state = crate::state::app_state();
    let token = crate::session::cookie(crate::session::STAFF_COOKIE).ok_or(ecert_core::DomainError::Unauthenticated)?;
    ecert_core::staff::current(&state.db, &token, ecert_core::Millis::now())
        .await?
        .ok_or_else(|| ecert_core::DomainError::Unauthenticated.into())
}
