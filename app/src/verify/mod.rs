//! Checking a presented certificate (R10): the public check page a phone camera opens from the
//! QR, and the counter verifier page where a scanner gun types the barcode's number. What a
//! verifier sees is masked (R16); presenting is `crate::wallet::present`.
//!
//! The public check must not tell one failure from another (R9).

use ecert_core::presentation::VerifiedView;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;
use crate::i18n::{T, role_text, t, use_lang};

/// R10: the public check of a presented QR's token; anyone, no sign-in. Any failure answers
/// 410 "invalid or expired" and nothing else (R9).
#[server(prefix = "/api/v1", endpoint = "check", input = Json)]
pub async fn public_check(token: String) -> Result<VerifiedView, AppError> {
    let state = crate::state::app_state()?;
    Ok(ecert_core::presentation::verify_qr(&state.db, &token, ecert_core::Millis::now(), &state.random).await?)
}

#[server(endpoint = "counter_sign_in")]
pub async fn counter_sign_in(username: String, password: String) -> Result<(), AppError> {
    use crate::session::{COUNTER_COOKIE, set_session_cookie};
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let secret = ecert_core::secret::Secret::new(password);
    let session = ecert_core::party::sign_in(&state.db, &username, secret, now, &state.random).await?;
    set_session_cookie(COUNTER_COOKIE, session.token.expose(), Some(session.expires_at), now);
    leptos_axum::redirect("/verify");
    Ok(())
}

#[server(endpoint = "counter_sign_out")]
pub async fn counter_sign_out() -> Result<(), AppError> {
    use crate::session::{COUNTER_COOKIE, cookie, set_session_cookie};
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    if let Some(token) = cookie(COUNTER_COOKIE) {
        ecert_core::party::sign_out(&state.db, &token, now).await?;
    }
    set_session_cookie(COUNTER_COOKIE, "", None, now);
    leptos_axum::redirect("/verify");
    Ok(())
}

#[server(endpoint = "counter_me")]
pub async fn counter_me() -> Result<Option<ecert_core::party::CounterCaller>, AppError> {
    crate::guard::counter_if_signed_in().await
}

/// R9, R10: a signed-in counter checks a numeric code (typed, or the barcode via a scanner gun).
#[server(endpoint = "counter_verify")]
pub async fn counter_verify(code: String) -> Result<VerifiedView, AppError> {
    let token =
        crate::session::cookie(crate::session::COUNTER_COOKIE).ok_or(ecert_core::DomainError::Unauthenticated)?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    // The session is read with the check (one statement on PostgreSQL), not by the guard first.
    Ok(ecert_core::presentation::verify_number_signed_in(&state.db, &token, &code, now, &state.random).await?)
}

/// What a verifier sees of a valid presentation: masked on the public page (R16), the full name
/// and the ID number's last four at a counter (R18); with the server's time of the check.
#[component]
pub fn VerifiedCard(v: VerifiedView) -> impl IntoView {
    let lang = use_lang();
    let matters: Vec<String> = v.matters.iter().map(|m| lang.pick(&m.name_zh, &m.name_en).to_owned()).collect();
    let grant = match (&v.start_day, &v.end_day) {
        (Some(s), Some(e)) => view! {
            <dt>{t(T::Grants)}</dt><dd data-testid="verified-matters">{matters.join("、")}</dd>
            <dt>{t(T::GrantPeriod)}</dt><dd data-testid="verified-period">{format!("{s} ~ {e}")}</dd>
        }
        .into_any(),
        _ => view! { <dt>{t(T::Grants)}</dt><dd data-testid="verified-matters">{t(T::NoGrantForManagers)}</dd> }
            .into_any(),
    };
    let expires = ecert_core::time::format_cst(ecert_core::Millis(v.expires_at));
    let checked = ecert_core::time::format_cst_seconds(ecert_core::Millis(v.checked_at));
    view! {
        <section class="panel verified" data-testid="verified" aria-live="polite">
            <p class="ok" role="status"><strong>{t(T::CheckGenuine)}</strong></p>
            <dl class="offer">
                <dt>{t(T::InstitutionName)}</dt><dd data-testid="verified-institution">{v.institution_name}</dd>
                <dt>{t(T::CreditCode)}</dt><dd><code>{v.credit_code}</code></dd>
                <dt>{t(T::Address)}</dt><dd>{v.institution_address}</dd>
                <dt>{t(T::Serial)}</dt><dd><code>{v.serial}</code></dd>
                <dt>{t(T::CertificateStatus)}</dt><dd>{t(T::StatusActive)}</dd>
                <dt>{t(T::LegalRepName)}</dt><dd>{v.legal_rep_name}</dd>
                <dt>{t(T::Holder)}</dt><dd data-testid="verified-holder">{v.holder_name} " · " {v.holder_id_number}</dd>
                <dt>{t(T::Role)}</dt><dd data-testid="verified-role">{role_text(v.role, lang)}</dd>
                {grant}
                <dt>{t(T::ValidUntil)}</dt><dd>{expires} " (CST)"</dd>
                <dt>{t(T::CheckedAt)}</dt><dd data-testid="verified-checked-at">{checked} " (CST)"</dd>
            </dl>
        </section>
    }
}

/// The public check page (`/check?t=…`), opened by any phone camera from a presented QR.
#[component]
pub fn CheckPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let token = move || query.read().get("t").unwrap_or_default();
    let result = Resource::new(token, public_check);
    view! {
        <h1>{t(T::CheckTitle)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match result.await {
                    Ok(v) => view! { <VerifiedCard v /> }.into_any(),
                    Err(AppError::Domain(_)) => view! {
                        <p class="error big" role="alert" data-testid="check-invalid">{t(T::CheckInvalid)}</p>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The counter verifier page (`/verify`): counter sign-in, then a code field that a scanner
/// gun fills and submits with Enter. Works before hydration (plain forms).
#[component]
pub fn VerifierPage() -> impl IntoView {
    let lang = use_lang();
    let sign_in = ServerAction::<CounterSignIn>::new();
    let sign_out = ServerAction::<CounterSignOut>::new();
    let me = Resource::new(move || (sign_in.version().get(), sign_out.version().get()), |_| counter_me());
    let sign_in_error = move || sign_in.value().get().and_then(Result::err).map(|e| e.message(lang));
    view! {
        <h1>{t(T::Verifier)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(counter)) => view! {
                        <section class="panel">
                            <p data-testid="counter-name">{t(T::CounterSignedIn)} " " <strong>{counter.label()}</strong></p>
                            <ActionForm action=sign_out><button type="submit" class="secondary small">{t(T::SignOut)}</button></ActionForm>
                        </section>
                        <VerifyForm />
                    }
                    .into_any(),
                    Ok(None) => view! {
                        <section class="panel narrow">
                            <h2>{t(T::CounterSignIn)}</h2>
                            <ActionForm action=sign_in>
                                <label>{t(T::UserName)}<input type="text" name="username" autocomplete="username" required maxlength="64" /></label>
                                <label>{t(T::Password)}<input type="password" name="password" autocomplete="current-password" required maxlength="128" /></label>
                                <p class="error" role="alert">{sign_in_error}</p>
                                <button type="submit">{t(T::SignIn)}</button>
                            </ActionForm>
                        </section>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn VerifyForm() -> impl IntoView {
    let lang = use_lang();
    let verify = ServerAction::<CounterVerify>::new();
    let input = NodeRef::<leptos::html::Input>::new();
    // Ready for the next code: clear and focus the field after each answer.
    Effect::new(move |_| {
        if verify.version().get() > 0
            && let Some(el) = input.get()
        {
            el.set_value("");
            let _ = el.focus();
        }
    });
    let result = move || {
        verify.value().get().map(|r| match r {
            Ok(v) => view! { <VerifiedCard v /> }.into_any(),
            Err(AppError::Domain(ecert_core::DomainError::PresentationInvalid)) => {
                view! { <p class="error big" role="alert" data-testid="verify-invalid">{t(T::CheckInvalid)}</p> }
                    .into_any()
            }
            Err(e) => {
                view! { <p class="error" role="alert" data-testid="verify-error">{e.message(lang)}</p> }.into_any()
            }
        })
    };
    view! {
        <section class="panel">
            <ActionForm action=verify attr:class="stack">
                <label>{t(T::VerifyCode)}
                    <input node_ref=input type="text" name="code" inputmode="numeric" autocomplete="off" autofocus required maxlength="40" />
                </label>
                <p class="hint">{t(T::VerifyCodeHint)}</p>
                <button type="submit" disabled=move || verify.pending().get()>{t(T::VerifyButton)}</button>
            </ActionForm>
        </section>
        {result}
    }
}
