//! The console's registry of relying parties (application systems, counters of government halls
//! and banks): register one (its OpenID Connect client id and secret), add counters (a user name
//! and password for the verifier page), subscribe it to the directory feed (issue 18 §3: a
//! provincial platform's pull and webhook). Secrets are shown once.

use ecert_core::feed::SubscriptionView;
use ecert_core::party::{PartyView, ScenarioInput, ShownOnce};
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

/// Suspends (`suspend`), resumes (`resume`) or re-addresses (`redirects`, with the URLs) a
/// relying party of the authority.
#[server(endpoint = "party_change")]
pub async fn party_change(party_id: String, change: String, redirect_uris: Option<String>) -> Result<(), AppError> {
    use ecert_core::party::PartyChange;
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let change = match change.as_str() {
        "suspend" => PartyChange::Suspend,
        "resume" => PartyChange::Resume,
        "redirects" => PartyChange::Redirects(redirect_uris.unwrap_or_default()),
        _ => return Err(ecert_core::DomainError::field("change", ecert_core::Problem::BadFormat).into()),
    };
    let now = ecert_core::Millis::now();
    Ok(ecert_core::party::change_party(&state.db, &staff, &party_id, &change, now, &state.random).await?)
}

#[server(endpoint = "party_rotate_secret")]
pub async fn party_rotate_secret(party_id: String) -> Result<ShownOnce, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::party::rotate_secret(&state.db, &staff, &party_id, now, &state.random).await?)
}

#[server(endpoint = "counter_reset_password")]
pub async fn counter_reset_password(counter_id: String) -> Result<ShownOnce, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::party::reset_counter_password(&state.db, &staff, &counter_id, now, &state.random).await?)
}

/// Subscribes a party of the authority to the directory feed, or changes its webhook: with a
/// URL, answers the new webhook secret (shown once); without one, the party pulls only.
#[server(endpoint = "directory_subscribe")]
pub async fn directory_subscribe(party_id: String, webhook_url: String) -> Result<Option<ShownOnce>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let url = Some(webhook_url.as_str());
    Ok(ecert_core::feed::subscribe(&state.db, &staff, &party_id, url, now, &state.random).await?)
}

/// What the application-scenario list says of a party of the authority (issue 18 §3); the
/// checkbox `published` is `on` when ticked.
#[server(endpoint = "party_scenario")]
pub async fn party_scenario(
    party_id: String,
    published: Option<String>,
    services: String,
    guide: String,
    entry: String,
) -> Result<(), AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let input = ecert_core::party::ScenarioInput { published: published.is_some(), services, guide, entry };
    let now = ecert_core::Millis::now();
    Ok(ecert_core::party::set_scenario(&state.db, &staff, &party_id, &input, now, &state.random).await?)
}

#[server(endpoint = "directory_unsubscribe")]
pub async fn directory_unsubscribe(party_id: String) -> Result<(), AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::feed::unsubscribe(&state.db, &staff, &party_id, now, &state.random).await?)
}

#[component]
pub fn PartiesPanel() -> impl IntoView {
    let lang = use_lang();
    let register = ServerAction::<PartyRegister>::new();
    let add_counter = ServerAction::<PartyAddCounter>::new();
    // Loaded after hydration, like the console's other lists (see issue.rs).
    let change = ServerAction::<PartyChange>::new();
    let rotate = ServerAction::<PartyRotateSecret>::new();
    let reset = ServerAction::<CounterResetPassword>::new();
    let subscribe = ServerAction::<DirectorySubscribe>::new();
    let unsubscribe = ServerAction::<DirectoryUnsubscribe>::new();
    let scenario = ServerAction::<PartyScenario>::new();
    let parties = LocalResource::new(move || {
        scenario.version().track();
        subscribe.version().track();
        unsubscribe.version().track();
        register.version().track();
        add_counter.version().track();
        change.version().track();
        rotate.version().track();
        reset.version().track();
        parties_list()
    });
    let changed = move || {
        change
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p class="error" role="alert">{e.message(lang)}</p> })
    };
    let rotated = move || {
        rotate.value().get().map(|r| match r {
            Ok(s) => view! {
                <dl class="shown-once" data-testid="party-new-secret">
                    <dt>{t(T::ClientId)}</dt><dd><code>{s.login}</code></dd>
                    <dt>{t(T::ClientSecret)}</dt><dd><code data-testid="party-new-secret-value">{s.secret}</code></dd>
                </dl>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
        })
    };
    let reset_result = move || {
        reset.value().get().map(|r| match r {
            Ok(s) => view! {
                <dl class="shown-once" data-testid="counter-new-password">
                    <dt>{t(T::CounterUserName)}</dt><dd><code>{s.login}</code></dd>
                    <dt>{t(T::CounterPassword)}</dt><dd><code data-testid="counter-new-password-value">{s.secret}</code></dd>
                </dl>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
        })
    };
    let subscribed = move || {
        let failed = unsubscribe.value().get().and_then(Result::err);
        let shown = subscribe.value().get().map(|r| match r {
            Ok(Some(s)) => view! {
                <dl class="shown-once" data-testid="webhook-secret">
                    <dt>{t(T::ClientId)}</dt><dd><code>{s.login}</code></dd>
                    <dt>{t(T::WebhookSecret)}</dt><dd><code data-testid="webhook-secret-value">{s.secret}</code></dd>
                </dl>
            }
            .into_any(),
            Ok(None) => ().into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
        });
        let scenario_failed = scenario.value().get().and_then(Result::err);
        (shown, failed.or(scenario_failed).map(|e| view! { <p class="error" role="alert">{e.message(lang)}</p> }))
    };
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
            {changed}
            {rotated}
            {reset_result}
            {subscribed}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match parties.await {
                        Ok(list) if list.is_empty() => view! { <p>{t(T::NoParties)}</p> }.into_any(),
                        Ok(list) => {
                            view! { <PartyList list add_counter change rotate reset subscribe unsubscribe scenario /> }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn PartyList(
    list: Vec<PartyView>,
    add_counter: ServerAction<PartyAddCounter>,
    change: ServerAction<PartyChange>,
    rotate: ServerAction<PartyRotateSecret>,
    reset: ServerAction<CounterResetPassword>,
    subscribe: ServerAction<DirectorySubscribe>,
    unsubscribe: ServerAction<DirectoryUnsubscribe>,
    scenario: ServerAction<PartyScenario>,
) -> impl IntoView {
    list.into_iter()
        .map(|p| {
            let counters = p
                .counters
                .iter()
                .map(|k| {
                    let id = k.id.clone();
                    view! {
                        <li data-testid="counter">
                            {format!("{} ({})", k.name, k.username)}
                            <button type="button" class="small secondary" on:click=move |_| {
                                reset.dispatch(CounterResetPassword { counter_id: id.clone() });
                            }>{t(T::ResetStaffPassword)}</button>
                        </li>
                    }
                })
                .collect_view();
            let active = p.status == "active";
            let (id1, id2, id3) = (p.id.clone(), p.id.clone(), p.id.clone());
            let (counter_for, directory_for, scenario_for) = (p.id.clone(), p.id.clone(), p.id.clone());
            let toggle = if active { ("suspend", T::SuspendParty) } else { ("resume", T::ResumeParty) };
            view! {
                <article class="party" data-testid="party">
                    <h3>{p.name.clone()} {(!active).then(|| view! { " · " <span data-testid="party-suspended">{t(T::PartySuspended)}</span> })}</h3>
                    <p class="muted"><code>{p.id.clone()}</code> " · " {p.redirect_uris.join(" ")}</p>
                    <p class="row">
                        <button type="button" class="small secondary" data-testid="party-toggle" on:click=move |_| {
                            change.dispatch(PartyChange { party_id: id1.clone(), change: toggle.0.to_owned(), redirect_uris: None });
                        }>{t(toggle.1)}</button>
                        <button type="button" class="small secondary" data-testid="party-rotate" on:click=move |_| {
                            rotate.dispatch(PartyRotateSecret { party_id: id2.clone() });
                        }>{t(T::RotateSecret)}</button>
                    </p>
                    <ActionForm action=change attr:class="row">
                        <input type="hidden" name="party_id" value=id3 />
                        <input type="hidden" name="change" value="redirects" />
                        <label>{t(T::EditRedirects)}<textarea name="redirect_uris" rows="2">{p.redirect_uris.join("\n")}</textarea></label>
                        <button type="submit" class="small secondary">{t(T::SaveRedirects)}</button>
                    </ActionForm>
                    <p>{t(T::CountersOf)} ":"</p>
                    <ul class="records">{counters}</ul>
                    <ActionForm action=add_counter attr:class="row">
                        <input type="hidden" name="party_id" value=counter_for />
                        <label>{t(T::CounterName)}<input name="name" required maxlength="100" /></label>
                        <button type="submit" class="small">{t(T::AddCounter)}</button>
                    </ActionForm>
                    <DirectorySubscription party_id=directory_for subscription=p.directory.clone() subscribe unsubscribe />
                    <ScenarioForm party_id=scenario_for current=p.scenario.clone() scenario />
                </article>
            }
        })
        .collect_view()
}

/// A party's subscription to the directory feed (issue 18 §3): its state, and the form that
/// subscribes it or changes its webhook.
#[component]
fn DirectorySubscription(
    party_id: String,
    subscription: Option<SubscriptionView>,
    subscribe: ServerAction<DirectorySubscribe>,
    unsubscribe: ServerAction<DirectoryUnsubscribe>,
) -> impl IntoView {
    let subscribed = subscription.is_some();
    let url = subscription.as_ref().and_then(|s| s.webhook_url.clone()).unwrap_or_default();
    let state = subscription.map(|s| {
        let failing = s.last_error.clone().map(|e| {
            view! {
                <p class="error" data-testid="webhook-failing">
                    {t(T::DirectoryLastError)} {format!(" ({}): {e} · ", s.attempts)} {t(T::DirectoryNextAttempt)} " "
                    {ecert_core::time::format_cst(ecert_core::Millis(s.next_attempt_at))}
                </p>
            }
        });
        let target = match &s.webhook_url {
            Some(u) => view! { <code>{u.clone()}</code> }.into_any(),
            None => t(T::DirectoryPullOnly).into_any(),
        };
        view! {
            <p data-testid="directory-subscribed">
                {target} " · " {t(T::DirectoryDelivered)} " " <span data-testid="directory-delivered">{s.delivered_seq}</span>
            </p>
            {failing}
        }
    });
    let id = party_id.clone();
    view! {
        <section class="subscription" data-testid="directory-subscription">
            <p>{t(T::DirectoryFeed)} ":"</p>
            {state}
            <ActionForm action=subscribe attr:class="row">
                <input type="hidden" name="party_id" value=party_id />
                <label>{t(T::WebhookUrl)}<input name="webhook_url" type="url" maxlength="500" value=url /></label>
                <button type="submit" class="small" data-testid="directory-subscribe" disabled=move || subscribe.pending().get()>
                    {if subscribed { t(T::SaveWebhook) } else { t(T::DirectorySubscribe) }}
                </button>
            </ActionForm>
            {subscribed.then(|| view! {
                <button type="button" class="small secondary" data-testid="directory-unsubscribe" on:click=move |_| {
                    unsubscribe.dispatch(DirectoryUnsubscribe { party_id: id.clone() });
                }>{t(T::DirectoryUnsubscribe)}</button>
            })}
        </section>
    }
}

/// What the application-scenario list says of a party: what for, how, where; published or not.
#[component]
fn ScenarioForm(party_id: String, current: ScenarioInput, scenario: ServerAction<PartyScenario>) -> impl IntoView {
    view! {
        <ActionForm action=scenario attr:class="stack scenario-form">
            <input type="hidden" name="party_id" value=party_id />
            <p>{t(T::ScenarioEdit)} {current.published.then(|| view! { " · " <span data-testid="scenario-published">{t(T::ScenarioPublished)}</span> })}</p>
            <label>{t(T::ScenarioServices)}<input name="services" maxlength="500" value=current.services /></label>
            <label>{t(T::ScenarioEntry)}<input name="entry" maxlength="300" value=current.entry /></label>
            <label>{t(T::ScenarioGuide)}<textarea name="guide" rows="3" maxlength="2000">{current.guide}</textarea></label>
            <label class="row"><input type="checkbox" name="published" value="on" checked=current.published />{t(T::ScenarioPublish)}</label>
            <button type="submit" class="small secondary" data-testid="scenario-save" disabled=move || scenario.pending().get()>{t(T::SaveScenario)}</button>
        </ActionForm>
    }
}
