//! The application-scenario list and service guide (`/scenarios`, 应用场景清单, 服务指南; issue
//! 18 §3, seed 002): the public page of the registered relying parties that accept the
//! certificate, what for and how, as their authorities' administrators publish it in the
//! console. Rendered on the server, readable without JavaScript.

use ecert_core::party::ScenarioView;
use leptos::prelude::*;

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

/// The published scenarios: public, read-only, at most 1,000 rows.
#[server(endpoint = "scenario_list")]
pub async fn scenario_list() -> Result<Vec<ScenarioView>, AppError> {
    let state = crate::state::app_state()?;
    Ok(ecert_core::party::scenarios(&state.db).await?)
}

#[component]
pub fn ScenariosPage() -> impl IntoView {
    let lang = use_lang();
    let list = Resource::new(|| (), |_| scenario_list());
    view! {
        <h1>{t(T::ScenariosTitle)}</h1>
        <p class="lead">{t(T::ScenariosLead)}</p>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.is_empty() => view! { <p>{t(T::NoScenarios)}</p> }.into_any(),
                    Ok(list) => list.into_iter().map(|s| view! { <Scenario s /> }).collect_view().into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Scenario(s: ScenarioView) -> impl IntoView {
    let ways = [s.scan_login.then(|| t(T::ScenarioScanLogin)), (s.counters > 0).then(|| t(T::ScenarioAtCounter))]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let guide = s.guide.lines().map(|l| view! { <p>{l.to_owned()}</p> }).collect_view();
    view! {
        <article class="panel scenario" data-testid="scenario">
            <h2>{s.party_name}</h2>
            <dl class="facts">
                <dt>{t(T::ScenarioServices)}</dt><dd data-testid="scenario-services">{s.services}</dd>
                <dt>{t(T::ScenarioHow)}</dt><dd>{ways}</dd>
                {(!s.entry.is_empty()).then(|| view! { <dt>{t(T::ScenarioEntry)}</dt><dd>{s.entry.clone()}</dd> })}
                <dt>{t(T::ScenarioAuthority)}</dt><dd>{s.authority_name}</dd>
            </dl>
            {(!s.guide.is_empty()).then(|| view! { <section data-testid="scenario-guide"><h3>{t(T::ScenarioGuide)}</h3>{guide}</section> })}
        </article>
    }
}
