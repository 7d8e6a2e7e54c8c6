//! Establishment registration for applicants (`/establish`, 设立登记; issue 18 §1): a founding
//! organiser signs in with a mobile number and an SMS code, fills the establishment application,
//! attaches its papers and submits it to a registration authority; a returned application is
//! corrected here and submitted again, and an approved one gives its claim slip: the QR code the
//! legal representative scans with the wallet to claim the new certificate.

use ecert_core::applicant::Applicant;
use ecert_core::certificate::PersonInput;
use ecert_core::establishment::{Attachment, AuthorityChoice, EstablishmentForm, EstablishmentView, Mine};
use ecert_core::filing::FilingStatus;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::{T, filing_status_text as status_text, t, use_lang};

/// The claim slip an applicant takes from an approved application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantSlip {
    pub claim_url: String,
    pub qr_svg: String,
    pub expires_at: i64,
}

#[cfg(feature = "ssr")]
async fn applicant() -> Result<Applicant, AppError> {
    applicant_if_signed_in().await?.ok_or_else(|| ecert_core::DomainError::Unauthenticated.into())
}

#[cfg(feature = "ssr")]
async fn applicant_if_signed_in() -> Result<Option<Applicant>, AppError> {
    let state = crate::state::app_state()?;
    let Some(token) = crate::session::cookie(crate::session::APPLICANT_COOKIE) else { return Ok(None) };
    Ok(ecert_core::applicant::current(&state.db, &token, ecert_core::Millis::now()).await?)
}

#[server(endpoint = "applicant_me")]
pub async fn applicant_me() -> Result<Option<Applicant>, AppError> {
    applicant_if_signed_in().await
}

/// Sends a sign-in code to `mobile`; answers it masked.
#[server(endpoint = "applicant_code")]
pub async fn applicant_code(mobile: String) -> Result<String, AppError> {
    let state = crate::state::app_state()?;
    // A client is its address (an IPv6 subscriber's /48: the budget is an hour's); one the edge
    // could not tell, all as one.
    let client = crate::session::client_ip()
        .map(|ip| ecert_core::rate::subscriber_key(ip).to_string())
        .unwrap_or_else(|| "unknown".into());
    let now = ecert_core::Millis::now();
    Ok(ecert_core::applicant::send_code(&state.db, &state.sms, &mobile, &client, now, &state.random).await?)
}

#[server(endpoint = "applicant_sign_in")]
pub async fn applicant_sign_in(mobile: String, code: String) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let session = ecert_core::applicant::sign_in(&state.db, &mobile, &code, now, &state.random).await?;
    crate::session::set_session_cookie(
        crate::session::APPLICANT_COOKIE,
        session.token.expose(),
        Some(session.expires_at),
        now,
    );
    Ok(())
}

#[server(endpoint = "applicant_sign_out")]
pub async fn applicant_sign_out() -> Result<(), AppError> {
    use crate::session::{APPLICANT_COOKIE, cookie, set_session_cookie};
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    if let Some(token) = cookie(APPLICANT_COOKIE) {
        ecert_core::applicant::sign_out(&state.db, &token, now).await?;
    }
    set_session_cookie(APPLICANT_COOKIE, "", None, now);
    Ok(())
}

#[server(endpoint = "establishment_authorities")]
pub async fn establishment_authorities() -> Result<Vec<AuthorityChoice>, AppError> {
    applicant().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::establishment::authorities(&state.db).await?)
}

#[server(endpoint = "establishment_mine")]
pub async fn establishment_mine() -> Result<Mine, AppError> {
    let me = applicant().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::establishment::mine(&state.db, &me).await?)
}

/// The applicant's own application as submitted, to correct it.
#[server(endpoint = "establishment_form")]
pub async fn my_establishment_form(id: String) -> Result<EstablishmentForm, AppError> {
    let me = applicant().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::establishment::form_of(&state.db, &me, &id).await?)
}

/// Uploads a paper (its bytes in base64); the request may be larger than others (the server's
/// body limit for this path).
#[server(endpoint = "establishment_upload", input = Json)]
pub async fn establishment_upload(name: String, base64: String) -> Result<Attachment, AppError> {
    use base64::Engine;
    let me = applicant().await?;
    let state = crate::state::app_state()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64.trim())
        .map_err(|_| ecert_core::DomainError::field("file", ecert_core::Problem::BadFormat))?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::establishment::upload(&state.db, &me, &name, &bytes, now, &state.random).await?)
}

#[server(endpoint = "establishment_discard")]
pub async fn establishment_discard(id: String) -> Result<(), AppError> {
    let me = applicant().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::establishment::discard(&state.db, &me, &id).await?)
}

/// Submits a new application (`id` empty) or the correction of a returned one.
#[server(endpoint = "establishment_submit", input = Json)]
pub async fn establishment_submit(
    id: Option<String>,
    form: EstablishmentForm,
    files: Vec<String>,
) -> Result<EstablishmentView, AppError> {
    let me = applicant().await?;
    let state = crate::state::app_state()?;
    let id = id.filter(|i| !i.trim().is_empty());
    let now = ecert_core::Millis::now();
    Ok(ecert_core::establishment::submit(&state.db, &me, id.as_deref(), &form, &files, now, &state.random).await?)
}

/// A fresh claim slip of an approved application.
#[server(endpoint = "establishment_claim")]
pub async fn establishment_claim(id: String) -> Result<ApplicantSlip, AppError> {
    let me = applicant().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let claim = ecert_core::establishment::claim(&state.db, &me, &id, state.issue_policy, now, &state.random).await?;
    let claim_url = format!("{}/wallet/claim?code={}", state.public_url, claim.code.expose());
    Ok(ApplicantSlip { qr_svg: crate::qr::svg(&claim_url), claim_url, expires_at: claim.expires_at.0 })
}

#[component]
pub fn EstablishPage() -> impl IntoView {
    let lang = use_lang();
    let bump = RwSignal::new(0u32);
    let me = LocalResource::new(move || {
        bump.track();
        applicant_me()
    });
    view! {
        <h1>{t(T::EstablishTitle)}</h1>
        <p class="lead">{t(T::EstablishLead)}</p>
        <div class="list-slot">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(a)) => view! { <Applications me=a bump /> }.into_any(),
                        Ok(None) => view! { <SignIn bump /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

/// The mobile and the SMS code.
#[component]
fn SignIn(bump: RwSignal<u32>) -> impl IntoView {
    let lang = use_lang();
    let mobile = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let sent = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let send = move |_| {
        error.set(None);
        let m = mobile.get_untracked();
        spawn_local(async move {
            match applicant_code(m).await {
                Ok(masked) => sent.set(Some(masked)),
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    let sign_in = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let (m, c) = (mobile.get_untracked(), code.get_untracked());
        spawn_local(async move {
            match applicant_sign_in(m, c).await {
                Ok(()) => bump.update(|n| *n += 1),
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="applicant-title" data-testid="applicant-sign-in">
            <h2 id="applicant-title">{t(T::ApplicantSignIn)}</h2>
            <form class="grid-form" on:submit=sign_in>
                <label>{t(T::Mobile)}
                    <input inputmode="numeric" maxlength="11" autocomplete="tel" data-testid="applicant-mobile"
                        on:input=move |ev| mobile.set(event_target_value(&ev)) />
                </label>
                <button type="button" class="secondary" data-testid="applicant-send" on:click=send>{t(T::SendSmsCode)}</button>
                <p data-testid="applicant-sent">{move || sent.get().map(|m| format!("{}{m}", T::SmsSent.get(lang)))}</p>
                <label>{t(T::SmsCode)}
                    <input inputmode="numeric" maxlength="6" autocomplete="one-time-code" data-testid="applicant-code"
                        on:input=move |ev| code.set(event_target_value(&ev)) />
                </label>
                <button type="submit" data-testid="applicant-submit">{t(T::SignIn)}</button>
            </form>
            <p class="error" role="alert" data-testid="applicant-error">{move || error.get()}</p>
        </section>
    }
}

/// The signed-in applicant's applications and the form.
#[component]
fn Applications(me: Applicant, bump: RwSignal<u32>) -> impl IntoView {
    let lang = use_lang();
    let changed = RwSignal::new(0u32);
    let mine = LocalResource::new(move || {
        changed.track();
        establishment_mine()
    });
    // The application being corrected (`Some(id)`), its form loaded into the fields.
    let correcting = RwSignal::new(None::<String>);
    let form = RwSignal::new(EstablishmentForm::default());
    let files = RwSignal::new(Vec::<Attachment>::new());
    let slip = RwSignal::new(None::<(String, ApplicantSlip)>);
    let error = RwSignal::new(None::<String>);
    let sign_out = move |_| {
        spawn_local(async move {
            let _ = applicant_sign_out().await;
            bump.update(|n| *n += 1);
        });
    };
    let correct = move |view: EstablishmentView| {
        error.set(None);
        spawn_local(async move {
            match my_establishment_form(view.id.clone()).await {
                Ok(f) => {
                    form.set(f);
                    files.set(view.files.clone());
                    correcting.set(Some(view.id));
                }
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    let take_slip = move |id: String| {
        error.set(None);
        spawn_local(async move {
            match establishment_claim(id.clone()).await {
                Ok(s) => slip.set(Some((id, s))),
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    view! {
        <p class="row" data-testid="applicant-me">{t(T::SignedInAs)} {me.mobile.clone()} " "
            <button type="button" class="small secondary" data-testid="applicant-sign-out" on:click=sign_out>{t(T::SignOut)}</button>
        </p>
        <section class="panel" aria-labelledby="my-applications" data-testid="my-applications">
            <h2 id="my-applications">{t(T::MyApplications)}</h2>
            <div class="list-slot">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match mine.await {
                        Ok(m) => {
                            // Uploads not yet in an application join the new one's papers.
                            if correcting.get_untracked().is_none() {
                                files.update(|f| {
                                    for u in &m.uploads {
                                        if !f.iter().any(|x| x.id == u.id) {
                                            f.push(u.clone());
                                        }
                                    }
                                });
                            }
                            if m.applications.is_empty() {
                                return view! { <p>{t(T::NoApplications)}</p> }.into_any();
                            }
                            let rows = m.applications.into_iter().map(|a| {
                                let status = a.status;
                                let id = a.id.clone();
                                let for_fix = a.clone();
                                view! {
                                    <tr data-testid="establishment-row" data-status=status.as_sql()>
                                        <td>{a.name.clone()}<br/><small>{a.authority_name.clone()}</small></td>
                                        <td>{ecert_core::time::format_cst(ecert_core::Millis(a.submitted_at))}</td>
                                        <td data-testid="establishment-status">{status_text(status, lang)}</td>
                                        <td class="pre" data-testid="establishment-note">{a.review_note.clone().unwrap_or_default()}</td>
                                        <td><code data-testid="establishment-code">{a.credit_code.clone().unwrap_or_default()}</code></td>
                                        <td>
                                            {(status == FilingStatus::Returned).then(|| view! {
                                                <button type="button" class="small" data-testid="establishment-correct"
                                                    on:click=move |_| correct(for_fix.clone())>{t(T::CorrectAndResubmit)}</button>
                                            })}
                                            {(status == FilingStatus::Approved).then(|| view! {
                                                <button type="button" class="small" data-testid="establishment-claim"
                                                    on:click=move |_| take_slip(id.clone())>{t(T::TakeClaimSlip)}</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <table class="records">
                                    <thead><tr>
                                        <th>{t(T::InstitutionName)}</th><th>{t(T::FilingSubmittedAt)}</th><th>{t(T::Status)}</th>
                                        <th>{t(T::FilingReviewNote)}</th><th>{t(T::CreditCode)}</th><th></th>
                                    </tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Transition>
            </div>
            {move || slip.get().map(|(_, s)| view! { <ClaimSlipView slip=s /> })}
        </section>
        <ApplicationForm correcting form files changed error />
        <p class="error" role="alert" data-testid="establish-error">{move || error.get()}</p>
    }
}

#[component]
fn ClaimSlipView(slip: ApplicantSlip) -> impl IntoView {
    let expires = ecert_core::time::format_cst(ecert_core::Millis(slip.expires_at));
    view! {
        <section class="slip" data-testid="applicant-slip">
            <h3>{t(T::ClaimSlip)}</h3>
            <div class="qr" role="img" aria-label=t(T::ClaimQr) inner_html=slip.qr_svg></div>
            <p class="hint">{t(T::EstablishClaimHint)} " " {expires} " (CST)"</p>
            <p><a href=slip.claim_url rel="external" data-testid="applicant-claim-link">{t(T::ClaimLink)}</a></p>
        </section>
    }
}

/// The application's fields: (field, label, several lines, input's maximum length).
const FIELDS: [(&str, T, bool, u32); 9] = [
    ("name", T::EstablishName, false, 100),
    ("address", T::EstablishAddress, false, 200),
    ("purpose", T::EstablishPurpose, true, 1000),
    ("funds", T::EstablishFunds, false, 20),
    ("funding_source", T::EstablishFundingSource, false, 100),
    ("sponsor", T::EstablishSponsor, false, 100),
    ("rep_name", T::EstablishRepName, false, 50),
    ("rep_id", T::EstablishRepId, false, 18),
    ("rep_mobile", T::EstablishRepMobile, false, 11),
];

fn field_of(form: &EstablishmentForm, field: &str) -> String {
    match field {
        "name" => form.name.clone(),
        "address" => form.address.clone(),
        "purpose" => form.purpose.clone(),
        "funds" => form.funds.clone(),
        "funding_source" => form.funding_source.clone(),
        "sponsor" => form.sponsor.clone(),
        "rep_name" => form.legal_rep.name.clone(),
        "rep_id" => form.legal_rep.id_number.clone(),
        "rep_mobile" => form.legal_rep.mobile.clone(),
        _ => String::new(),
    }
}

fn set_field(form: &mut EstablishmentForm, field: &str, value: String) {
    let rep: &mut PersonInput = &mut form.legal_rep;
    match field {
        "name" => form.name = value,
        "address" => form.address = value,
        "purpose" => form.purpose = value,
        "funds" => form.funds = value,
        "funding_source" => form.funding_source = value,
        "sponsor" => form.sponsor = value,
        "rep_name" => rep.name = value,
        "rep_id" => rep.id_number = value,
        "rep_mobile" => rep.mobile = value,
        _ => {}
    }
}

#[component]
fn ApplicationForm(
    correcting: RwSignal<Option<String>>,
    form: RwSignal<EstablishmentForm>,
    files: RwSignal<Vec<Attachment>>,
    changed: RwSignal<u32>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let lang = use_lang();
    let authorities = LocalResource::new(establishment_authorities);
    let uploading = RwSignal::new(false);
    let submitted = RwSignal::new(None::<String>);
    let inputs = FIELDS
        .iter()
        .map(|(field, label, lines, max)| {
            let field = *field;
            let on_input = move |ev| {
                let v = event_target_value(&ev);
                form.update(|f| set_field(f, field, v));
            };
            let current = move || form.with(|f| field_of(f, field));
            let testid = format!("establish-{field}");
            if *lines {
                view! { <label class="wide">{t(*label)}<textarea rows="3" maxlength=*max data-testid=testid prop:value=current on:input=on_input></textarea></label> }.into_any()
            } else {
                view! { <label>{t(*label)}<input maxlength=*max data-testid=testid prop:value=current on:input=on_input /></label> }.into_any()
            }
        })
        .collect_view();
    let on_files = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
            let chosen: Vec<web_sys::File> =
                input.files().map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect()).unwrap_or_default();
            input.set_value("");
            uploading.set(true);
            error.set(None);
            spawn_local(async move {
                for file in chosen {
                    let Ok(buffer) = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await else { continue };
                    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                    use base64::Engine;
                    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
                    match establishment_upload(file.name(), encoded).await {
                        Ok(a) => files.update(|f| f.push(a)),
                        Err(e) => error.set(Some(format!("{}: {}", file.name(), e.message(lang)))),
                    }
                }
                uploading.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, uploading);
    };
    let remove = move |id: String| {
        spawn_local(async move {
            match establishment_discard(id.clone()).await {
                Ok(()) => files.update(|f| f.retain(|a| a.id != id)),
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        submitted.set(None);
        let (id, f, list) = (correcting.get_untracked(), form.get_untracked(), files.get_untracked());
        let ids = list.iter().map(|a| a.id.clone()).collect();
        spawn_local(async move {
            match establishment_submit(id, f, ids).await {
                Ok(view) => {
                    submitted.set(Some(view.name));
                    correcting.set(None);
                    form.set(EstablishmentForm::default());
                    files.set(Vec::new());
                    changed.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="establish-form-title" data-testid="establish-form">
            <h2 id="establish-form-title">
                {move || if correcting.get().is_some() { t(T::CorrectApplication) } else { t(T::NewApplication) }}
            </h2>
            <form class="grid-form" on:submit=submit>
                <div class="list-slot">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let options = authorities.await.unwrap_or_default().into_iter().map(|a| {
                            let id = a.id.clone();
                            view! { <option value=a.id selected=move || form.with(|f| f.authority_id == id)>{a.name}</option> }
                        }).collect_view();
                        view! {
                            <label>{t(T::EstablishAuthority)}
                                <select data-testid="establish-authority" on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    form.update(|f| f.authority_id = v);
                                }>
                                    <option value="">{t(T::ChooseOne)}</option>
                                    {options}
                                </select>
                            </label>
                        }
                    })}
                </Transition>
                </div>
                {inputs}
                <fieldset class="wide">
                    <legend>{t(T::EstablishFiles)}</legend>
                    <p class="hint">{t(T::EstablishFilesHint)}</p>
                    <input type="file" multiple=true accept="application/pdf,image/png,image/jpeg" data-testid="establish-file" on:change=on_files />
                    <ul data-testid="establish-files">
                        {move || files.get().into_iter().map(|a| {
                            let id = a.id.clone();
                            view! {
                                <li data-testid="establish-file-item">{a.name.clone()} " (" {a.size / 1024} " KB) "
                                    <button type="button" class="small secondary" on:click=move |_| remove(id.clone())>{t(T::Remove)}</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <p>{move || uploading.get().then(|| t(T::Uploading))}</p>
                </fieldset>
                <button type="submit" data-testid="establish-submit" disabled=move || uploading.get()>{t(T::SubmitApplication)}</button>
            </form>
            <p data-testid="establish-submitted">{move || submitted.get().map(|n| format!("{}{n}", T::ApplicationSubmitted.get(lang)))}</p>
        </section>
    }
}
