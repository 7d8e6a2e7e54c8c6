//! Who is calling: every server function that needs a signed-in caller starts here.
//!
//! No server function must trust a caller the page names; it asks here.

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// The signed-in staff member, if any.
#[cfg(feature = "ssr")]
pub async fn staff_if_signed_in() -> Result<Option<ecert_core::staff::StaffView>, AppError> {
    let state = crate::state::app_state()?;
    let Some(token) = crate::session::cookie(crate::session::STAFF_COOKIE) else {
        return Ok(None);
    };
    Ok(ecert_core::staff::current(&state.db, &token, ecert_core::Millis::now()).await?)
}

/// The signed-in staff member, or `Unauthenticated` (401).
#[cfg(feature = "ssr")]
pub async fn staff() -> Result<ecert_core::staff::StaffView, AppError> {
    staff_if_signed_in().await?.ok_or_else(|| ecert_core::DomainError::Unauthenticated.into())
}

/// The holder signed in to the manager dashboard, if any (session, holder, device and
/// certificate all live: R8, R15).
#[cfg(feature = "ssr")]
pub async fn holder_if_signed_in() -> Result<Option<ecert_core::holder::Caller>, AppError> {
    let state = crate::state::app_state()?;
    let Some(token) = crate::session::cookie(crate::session::HOLDER_COOKIE) else {
        return Ok(None);
    };
    Ok(ecert_core::login::current(&state.db, &token, ecert_core::Millis::now()).await?)
}

/// The dashboard caller, or `Unauthenticated` (401).
#[cfg(feature = "ssr")]
pub async fn holder() -> Result<ecert_core::holder::Caller, AppError> {
    holder_if_signed_in().await?.ok_or_else(|| ecert_core::DomainError::Unauthenticated.into())
}

/// The dashboard caller of a write that gives, shows or takes a power, carrying the phone
/// approval the page brings (issue 14 §1); the write takes it inside its transaction.
#[cfg(feature = "ssr")]
pub async fn holder_approving(approval: Option<String>) -> Result<ecert_core::holder::Caller, AppError> {
    let mut caller = holder().await?;
    caller.bring_approval(approval.filter(|a| !a.trim().is_empty() && a.len() <= 64));
    Ok(caller)
}

/// The counter signed in to the verifier page, if any (counter and relying party active).
#[cfg(feature = "ssr")]
pub async fn counter_if_signed_in() -> Result<Option<ecert_core::party::CounterCaller>, AppError> {
    let state = crate::state::app_state()?;
    let Some(token) = crate::session::cookie(crate::session::COUNTER_COOKIE) else {
        return Ok(None);
    };
    Ok(ecert_core::party::current(&state.db, &token, ecert_core::Millis::now()).await?)
}
