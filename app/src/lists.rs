//! What every paged list and export of the interface shares: the pager under a list, and the
//! `data:` link a CSV or JSON export downloads from.

use leptos::prelude::*;

use crate::i18n::{T, t};

/// Pages of `per_page` rows that `total` rows fill (at least one).
pub fn page_count(total: i64, per_page: i64) -> i64 {
    ((total + per_page - 1) / per_page.max(1)).max(1)
}

/// Where each page of a keyset-paged list starts (the certificate lists, issue 15 §2): page 0 at
/// the top, page `p + 1` at the cursor page `p` answered. The pager moves one page at a time, so
/// the page asked for has its cursor; a page without one (none recorded yet) is counted from the
/// top instead, which is slower but the same page.
#[derive(Clone, Copy)]
pub struct Cursors(StoredValue<Vec<String>>);

impl Cursors {
    pub fn new() -> Self {
        Cursors(StoredValue::new(vec![String::new()]))
    }

    /// Where `page` starts; empty for the top or an unknown page.
    pub fn start_of(self, page: i64) -> String {
        let i = usize::try_from(page).unwrap_or(0);
        self.0.with_value(|c| c.get(i).cloned().unwrap_or_default())
    }

    /// Page `page` answered `next`: page `page + 1` starts there, and pages beyond it are
    /// forgotten (they belonged to an earlier walk).
    pub fn record(self, page: i64, next: &str) {
        let i = usize::try_from(page).unwrap_or(0);
        self.0.update_value(|c| {
            c.truncate(i + 1);
            c.resize(i + 1, String::new());
            c.push(next.to_owned());
        });
    }

    /// Pages the pager may move through: what `total` fills (at least up to this page), and one
    /// more while a capped count hides how many there are but the page answered a `next`.
    pub fn pages(page: i64, total: i64, per_page: i64, next: &str) -> i64 {
        let counted = page_count(total, per_page).max(page + 1);
        if next.is_empty() { counted } else { counted.max(page + 2) }
    }
}

impl Default for Cursors {
    fn default() -> Self {
        Self::new()
    }
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
