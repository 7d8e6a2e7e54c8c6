//! The console's registry of relying parties (application systems, counters of government halls
//! and banks): register one (its OpenID Connect client id and secret), add counters (a user name
//! and password for the verifier page). Secrets are shown once.

use ecert_core::party::{PartyView, ShownOnce};
use leptos::prelude::*;

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

#[server(endpoint = "parties_list")]
pub async fn parties_list() -> Result<Vec<PartyView>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::party::list(&state.db, &staff).await?)
}

#[server(endpoint = "party_register")]
pub async fn party_register(name: String, redirect_uris: String) -> Result<ShownOnce, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let input = ecert_core::party::PartyInput { name, redirect_uris };
    Ok(ecert_core::party::register(&state.db, &staff, &input, ecert_core::Millis::now(), &state.random).await?)
}

#[server(endpoint = "party_add_counter")]
pub async fn party_add_counter(party_id: String, name: String) -> Result<ShownOnce, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::party::add_counter(&state.db, &staff, &party_id, &name, now, &state.random).await?)
}

#[component]
pub fn PartiesPanel() -> impl IntoView {
    let lang = use_lang();
    let register = ServerAction::<PartyRegister>::new();
    let add_counter = ServerAction::<PartyAddCounter>::new();
    // Loaded after hydration, like the console's other lists (see issue.rs).
    let parties = LocalResource::new(move || {
        register.version().track();
        add_counter.version().track();
        parties_list()
    });
    let register_result = move || {
        register.value().get().map(|r| match r {
            Ok(s) => view! {
                <dl class="shown-once" data-testid="party-credentials">
                    <dt>{t(T::ClientId)}</dt><dd><code data-testid="party-client-id">{s.login}</code></dd>
                    <dt>{t(T::ClientSecret)}</dt><dd><code data-testid="party-client-secret">{s.secret}</code></dd>
                </dl>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
        })
    };
    let counter_result = move || {
        add_counter.value().get().map(|r| match r {
            Ok(s) => view! {
                <dl class="shown-once" data-testid="counter-credentials">
                    <dt>{t(T::CounterUserName)}</dt><dd><code data-testid="counter-username">{s.login}</code></dd>
                    <dt>{t(T::CounterPassword)}</dt><dd><code data-testid="counter-password">{s.secret}</code></dd>
                </dl>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="parties-title">
            <h2 id="parties-title">{t(T::PartiesTitle)}</h2>
            <ActionForm action=register attr:class="stack">
                <label>{t(T::PartyName)}<input name="name" required maxlength="100" /></label>
                <label>{t(T::RedirectUris)}<textarea name="redirect_uris" rows="2"></textarea></label>
                <button type="submit" disabled=move || register.pending().get()>{t(T::RegisterParty)}</button>
            </ActionForm>
            {register_result}
            {counter_result}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match parties.await {
                        Ok(list) if list.is_empty() => view! { <p>{t(T::NoParties)}</p> }.into_any(),
                        Ok(list) => view! { <PartyList list add_counter /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn PartyList(list: Vec<PartyView>, add_counter: ServerAction<PartyAddCounter>) -> impl IntoView {
    list.into_iter()
        .map(|p| {
            let counters =
                p.counters.iter().map(|k| format!("{} ({})", k.name, k.username)).collect::<Vec<_>>().join("、");
            view! {
                <article class="party" data-testid="party">
                    <h3>{p.name.clone()}</h3>
                    <p class="muted"><code>{p.id.clone()}</code> " · " {p.redirect_uris.join(" ")}</p>
                    <p>{t(T::CountersOf)} ": " {counters}</p>
                    <ActionForm action=add_counter attr:class="row">
                        <input type="hidden" name="party_id" value=p.id.clone() />
                        <label>{t(T::CounterName)}<input name="name" required maxlength="100" /></label>
                        <button type="submit" class="small">{t(T::AddCounter)}</button>
                    </ActionForm>
                </article>
            }
        })
        .collect_view()
}
