//! Forms 1 and 2 of seed 000 (附件1 事业单位法人电子证书申领表, 附件2 第一管理责任人变更申请表),
//! prefilled from what the counter typed and printable for the applicant to sign and seal, and
//! the papers checklist the counter ticks before it issues or records the change (issue 15 §2).
//! The form is made in the browser from the fields on the page: nothing more leaves the server.

use leptos::prelude::*;

use crate::i18n::{T, t};

/// The fields a printed form shows, bound to the inputs of the issuing or change form.
#[derive(Clone, Copy, Default)]
pub struct FormFields {
    pub institution: RwSignal<String>,
    pub credit_code: RwSignal<String>,
    pub address: RwSignal<String>,
    pub rep_name: RwSignal<String>,
    pub rep_id_number: RwSignal<String>,
    pub rep_mobile: RwSignal<String>,
    pub delegate: RwSignal<bool>,
    pub fm_name: RwSignal<String>,
    pub fm_id_number: RwSignal<String>,
    pub fm_mobile: RwSignal<String>,
    pub remark: RwSignal<String>,
}

/// Which form, and for form 2 why (法定代表人变更 or 第一管理责任人变更).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Apply,
    Change { legal_rep: bool },
}

/// Today in China Standard Time as 年月日, from the browser's clock (the server renders none).
fn today() -> String {
    #[cfg(feature = "hydrate")]
    {
        let ms = js_sys::Date::now() as i64;
        let day = ecert_core::time::today_cst(ecert_core::Millis(ms));
        let (y, m, d) = ecert_core::time::civil_from_days(day);
        format!("{y}年{m}月{d}日")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::from("    年  月  日")
    }
}

/// Prints the form of `which` (`form1` or `form2`) alone: the style sheet shows only the
/// form the body names while it prints.
fn print_form(which: &'static str) {
    #[cfg(not(feature = "hydrate"))]
    let _ = which;
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let body = w.document().and_then(|d| d.body());
        if let Some(b) = &body {
            let _ = b.set_attribute("data-print", which);
        }
        let _ = w.print();
        if let Some(b) = &body {
            let _ = b.remove_attribute("data-print");
        }
    }
}

/// The boxes of the papers checklist.
#[derive(Clone, Copy, Default)]
pub struct Checks {
    pub form: RwSignal<bool>,
    pub licence: RwSignal<bool>,
    pub identity_card: RwSignal<bool>,
    pub authorization: RwSignal<bool>,
}

impl Checks {
    pub fn value(self) -> ecert_core::certificate::Checklist {
        ecert_core::certificate::Checklist {
            form: self.form.get_untracked(),
            licence: self.licence.get_untracked(),
            identity_card: self.identity_card.get_untracked(),
            authorization: self.authorization.get_untracked(),
        }
    }
}

/// The checklist the counter ticks: named `check_*`, posted with a form when ticked.
#[component]
pub fn Checklist(checks: Checks, delegate: RwSignal<bool>) -> impl IntoView {
    view! {
        <fieldset data-testid="checklist">
            <legend>{t(T::PapersChecked)}</legend>
            <label class="inline"><input type="checkbox" name="check_form" value="on" bind:checked=checks.form />{t(T::CheckForm)}</label>
            <label class="inline"><input type="checkbox" name="check_licence" value="on" bind:checked=checks.licence />{t(T::CheckLicence)}</label>
            <label class="inline"><input type="checkbox" name="check_identity_card" value="on" bind:checked=checks.identity_card />{t(T::CheckIdentityCard)}</label>
            <label class="inline" class:hidden=move || !delegate.get()>
                <input type="checkbox" name="check_authorization" value="on" bind:checked=checks.authorization />{t(T::CheckAuthorization)}
            </label>
        </fieldset>
    }
}

/// The form, prefilled, in a fold the counter opens to look at and print.
#[component]
pub fn PrintedForm(kind: FormKind, fields: FormFields, authority: String) -> impl IntoView {
    let (title, note, which) = match kind {
        FormKind::Apply => (T::Form1Title, T::Form1Papers, "form1"),
        FormKind::Change { .. } => (T::Form2Title, T::Form2Papers, "form2"),
    };
    let f = fields;
    let reason = match kind {
        FormKind::Apply => None,
        FormKind::Change { legal_rep } => {
            Some(if legal_rep { T::Form2ReasonLegalRep } else { T::Form2ReasonFirstManager })
        }
    };
    let fm_name = move || if f.delegate.get() { f.fm_name.get() } else { f.rep_name.get() };
    let fm_id = move || if f.delegate.get() { f.fm_id_number.get() } else { f.rep_id_number.get() };
    let fm_mobile = move || if f.delegate.get() { f.fm_mobile.get() } else { f.rep_mobile.get() };
    // The form (with full ID numbers, as typed) is in the page only while its fold is open.
    let (open, set_open) = signal(false);
    view! {
        <details class="form-preview no-print" data-testid="printed-form-fold">
            <summary on:click=move |_| set_open.update(|o| *o = !*o)>{t(title)}</summary>
            <label>{t(T::FormRemark)}<input maxlength="100" bind:value=f.remark /></label>
            <button type="button" class="small secondary" on:click=move |_| print_form(which)>{t(T::PrintForm)}</button>
        </details>
        <Show when=move || open.get()>
        <section class=format!("printed-form {which}") data-testid="printed-form">
            <h2>{t(title)}</h2>
            <p>{t(T::FormDate)} " " <span data-testid="form-date">{today}</span></p>
            <table class="form-table">
                <tbody>
                    <tr><th>{t(T::FormInstitution)}</th><td colspan="3">{move || f.institution.get()}</td></tr>
                    <tr><th>{t(T::CreditCode)}</th><td colspan="3">{move || f.credit_code.get()}</td></tr>
                    <tr><th>{t(T::Address)}</th><td colspan="3">{move || f.address.get()}</td></tr>
                    <tr>
                        <th>{t(T::LegalRep)}</th><td>{move || f.rep_name.get()}</td>
                        <th>{t(T::FormMobile)}</th><td>{move || f.rep_mobile.get()}</td>
                    </tr>
                    <tr><th>{t(T::FormIdNumber)}</th><td colspan="3">{move || f.rep_id_number.get()}</td></tr>
                    <tr><td colspan="4">
                        <p>{t(T::FormAuthority)} " " <span data-testid="form-authority">{authority.clone()}</span></p>
                        {reason.map(|r| view! { <p>{t(T::Form2Because)} " " {t(r)}</p> })}
                        <p>{t(T::FormAuthorizes)} " " <u>{fm_name}</u> " " {t(T::FormAsFirstManager)}</p>
                        <p class="sign">{t(T::FormSeal)}</p>
                        <p class="sign">{t(T::FormSignature)}</p>
                    </td></tr>
                    <tr>
                        <th>{t(T::FirstManager)}</th><td>{fm_name}</td>
                        <th>{t(T::FormMobile)}</th><td>{fm_mobile}</td>
                    </tr>
                    <tr><th>{t(T::FormIdNumber)}</th><td colspan="3">{fm_id}</td></tr>
                    <tr><th>{t(T::FormRemark)}</th><td colspan="3" data-testid="form-remark">{move || f.remark.get()}</td></tr>
                </tbody>
            </table>
            <p class="hint">{t(T::FormMobileNote)}</p>
            <p class="hint">{t(note)}</p>
        </section>
        </Show>
    }
}
