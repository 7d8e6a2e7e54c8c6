//! What every paged list and export of the interface shares: the pager under a list, and the
//! `data:` link a CSV or JSON export downloads from.

use leptos::prelude::*;

use crate::i18n::{T, t};

/// Pages of `per_page` rows that `total` rows fill (at least one).
pub fn page_count(total: i64, per_page: i64) -> i64 {
    ((total + per_page - 1) / per_page.max(1)).max(1)
}

/// Previous, `summary` (e.g. "1 / 2 · 51"), next. The page count is a signal the list sets
/// each time it renders a page, so the buttons never judge by a count of an earlier render.
#[component]
pub fn Pager(
    page: ReadSignal<i64>,
    set_page: WriteSignal<i64>,
    pages: RwSignal<i64>,
    summary: String,
    #[prop(optional)] summary_testid: Option<&'static str>,
    #[prop(optional)] next_testid: Option<&'static str>,
) -> impl IntoView {
    // Named outside the markup: a bare `>=` in an attribute ends the tag for the view macro.
    let at_end = move || page.get() + 1 >= pages.get();
    view! {
        <p class="row pager">
            <button type="button" class="small secondary" disabled=move || page.get() == 0 on:click=move |_| set_page.update(|p| *p -= 1)>{t(T::PrevPage)}</button>
            <span data-testid=summary_testid>{summary}</span>
            <button type="button" class="small secondary" data-testid=next_testid disabled=at_end on:click=move |_| set_page.update(|p| *p += 1)>{t(T::NextPage)}</button>
        </p>
    }
}

/// A `data:` address that downloads `text` as `mime` (UTF-8; a CSV gets a byte-order mark so
/// that spreadsheets read it as UTF-8).
pub fn data_href(mime: &str, text: &str) -> String {
    let body = if mime == "text/csv" { format!("\u{feff}{text}") } else { text.to_owned() };
    format!("data:{mime};charset=utf-8,{}", ecert_core::oidc::percent_encode(&body))
}
