//! The matters catalogue (授权事项) of the caller's authority, for its administrators (issue 15
//! §2): add a matter, retire one. A retired matter stays on the grants that name it.

use ecert_core::catalogue::CatalogueLine;
use leptos::prelude::*;

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

#[server(endpoint = "catalogue_lines")]
pub async fn catalogue_lines() -> Result<Vec<CatalogueLine>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::catalogue::lines(&state.db, &staff, ecert_core::Millis::now()).await?)
}

#[server(endpoint = "catalogue_add")]
pub async fn catalogue_add(name_zh: String, name_en: String) -> Result<(), AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    ecert_core::catalogue::add(&state.db, &staff, &name_zh, &name_en, now, &state.random).await?;
    Ok(())
}

#[server(endpoint = "catalogue_retire")]
pub async fn catalogue_retire(matter_id: String) -> Result<(), AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::catalogue::retire(&state.db, &staff, &matter_id, now, &state.random).await?)
}

#[component]
pub fn CataloguePanel() -> impl IntoView {
    let lang = use_lang();
    let add = ServerAction::<CatalogueAdd>::new();
    let retire = ServerAction::<CatalogueRetire>::new();
    let lines = LocalResource::new(move || {
        add.version().track();
        retire.version().track();
        catalogue_lines()
    });
    let error = move || {
        let failed = |r: Option<Result<(), AppError>>| r.and_then(Result::err).map(|e| e.message(lang));
        failed(add.value().get()).or_else(|| failed(retire.value().get()))
    };
    view! {
        <section class="panel" aria-labelledby="catalogue-title" data-testid="catalogue-panel">
            <h2 id="catalogue-title">{t(T::Catalogue)}</h2>
            <ActionForm action=add attr:class="row">
                <label>{t(T::MatterNameZh)}<input name="name_zh" required maxlength="30" /></label>
                <label>{t(T::MatterNameEn)}<input name="name_en" required maxlength="60" /></label>
                <button type="submit" disabled=move || add.pending().get()>{t(T::AddMatter)}</button>
            </ActionForm>
            {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <div class="list-slot">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match lines.await {
                        Ok(list) => {
                            let rows = list.into_iter().map(|m| {
                                let id = m.id.clone();
                                view! {
                                    <tr data-testid="matter-row">
                                        <td>{m.name_zh}</td>
                                        <td>{m.name_en}</td>
                                        <td data-testid="matter-state">{if m.retired { T::MatterRetired.get(lang) } else { T::MatterActive.get(lang) }}</td>
                                        <td>{m.grants}</td>
                                        <td>{(!m.retired).then(|| view! {
                                            <ActionForm action=retire>
                                                <input type="hidden" name="matter_id" value=id />
                                                <button type="submit" class="small secondary" data-testid="matter-retire">{T::RetireMatter.get(lang)}</button>
                                            </ActionForm>
                                        })}</td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <table class="records">
                                    <thead><tr><th>{t(T::Matters)}</th><th>"English"</th><th>{t(T::Status)}</th><th>{t(T::GrantsInForce)}</th><th></th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Suspense>
            </div>
        </section>
    }
}
