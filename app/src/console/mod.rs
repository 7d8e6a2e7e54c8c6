//! The staff console of a registration authority: sign-in, then issuing (`issue`), changes and
//! the development SMS outbox (`changes`), the review of registration filings (`filings`, R23), relying parties (`parties`), staff and authorities
//! (`staff`), and statistics, lists and the subtree's certificates (`stats`). The panels share the
//! chosen certificate and the last claim slip through `selection`. Each server function starts
//! with `crate::guard::staff()`: the console never trusts what the page says about its caller.

mod catalogue;
mod changes;
mod establishments;
mod filings;
mod forms;
mod issue;
mod parties;
mod roster;
mod selection;
mod staff;
mod stats;

use ecert_core::staff::StaffView;
use leptos::prelude::*;

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

#[server(endpoint = "staff_sign_in")]
pub async fn staff_sign_in(username: String, password: String) -> Result<(), AppError> {
    use crate::session::{STAFF_COOKIE, set_session_cookie};
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let secret = ecert_core::secret::Secret::new(password);
    let session = ecert_core::staff::sign_in(&state.db, &username, secret, now, &state.random).await?;
    set_session_cookie(STAFF_COOKIE, session.token.expose(), Some(session.expires_at), now);
    leptos_axum::redirect("/console");
    Ok(())
}

#[server(endpoint = "staff_sign_out")]
pub async fn staff_sign_out() -> Result<(), AppError> {
    use crate::session::{STAFF_COOKIE, cookie, set_session_cookie};
    let state = crate::state::app_state()?;
    if let Some(token) = cookie(STAFF_COOKIE) {
        ecert_core::staff::sign_out(&state.db, &token).await?;
    }
    set_session_cookie(STAFF_COOKIE, "", None, ecert_core::Millis::now());
    leptos_axum::redirect("/console");
    Ok(())
}

#[server(endpoint = "current_staff")]
pub async fn current_staff() -> Result<Option<StaffView>, AppError> {
    crate::guard::staff_if_signed_in().await
}

#[component]
pub fn ConsolePage() -> impl IntoView {
    let sign_in = ServerAction::<StaffSignIn>::new();
    let sign_out = ServerAction::<StaffSignOut>::new();
    let staff = Resource::new(move || (sign_in.version().get(), sign_out.version().get()), |_| current_staff());
    view! {
        <h1>{t(T::StaffConsole)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match staff.await {
                    Ok(Some(me)) => view! { <SignedIn me sign_out /> }.into_any(),
                    Ok(None) => view! { <SignInForm sign_in /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message(use_lang())}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignInForm(sign_in: ServerAction<StaffSignIn>) -> impl IntoView {
    let lang = use_lang();
    let error = move || sign_in.value().get().and_then(Result::err).map(|e| e.message(lang));
    view! {
        <section class="panel narrow">
            <h2>{t(T::StaffSignIn)}</h2>
            <ActionForm action=sign_in>
                <label>{t(T::UserName)}<input type="text" name="username" autocomplete="username" required maxlength="64" /></label>
                <label>{t(T::Password)}<input type="password" name="password" autocomplete="current-password" required maxlength="128" /></label>
                <p class="error" role="alert">{error}</p>
                <button type="submit">{t(T::SignIn)}</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SignedIn(me: StaffView, sign_out: ServerAction<StaffSignOut>) -> impl IntoView {
    view! {
        <section class="panel">
            <p>
                {t(T::SignedInAs)} " " <strong>{me.display_name.clone()}</strong> " · " {me.authority_name.clone()}
                " · " <span data-testid="staff-duties">{me.duties.label(use_lang())}</span>
            </p>
            <ActionForm action=sign_out>
                <button type="submit">{t(T::SignOut)}</button>
            </ActionForm>
        </section>
        {me.duties.operate.then(|| view! { <issue::IssuePanel authority=me.authority_name.clone() /> })}
        {(me.duties.operate || me.duties.audit).then(|| view! { <filings::FilingReviewPanel operate=me.duties.operate /> })}
        {(me.duties.operate || me.duties.audit).then(|| view! { <establishments::EstablishmentReviewPanel operate=me.duties.operate /> })}
        {me.duties.administer.then(|| view! { <parties::PartiesPanel /> })}
        {me.duties.operate.then(|| view! { <changes::OutboxPanel /> })}
        {(me.duties.administer && me.authority_level != ecert_core::authority::Level::County)
            .then(|| view! { <staff::AuthoritiesPanel /> })}
        {me.duties.administer.then(|| view! { <staff::StaffPanel me=me.id.clone() /> })}
        {me.duties.administer.then(|| view! { <catalogue::CataloguePanel /> })}
        {(me.duties.operate || me.duties.administer).then(|| view! { <roster::RosterPanel operate=me.duties.operate /> })}
        {me.duties.audit.then(|| view! { <staff::AuditPanel /> })}
        {(me.duties.audit || me.duties.administer).then(|| view! { <stats::StatisticsPanel /> })}
        {((me.duties.audit || me.duties.administer) && me.authority_level != ecert_core::authority::Level::County)
            .then(|| view! { <stats::SubtreePanel /> })}
    }
}
