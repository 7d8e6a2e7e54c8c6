//! The phone side of a device binding: key generation and signing in WebCrypto (see
//! `app/js/wallet.js`), and the list of cards the wallet holds. Only the browser has these; on
//! the server every call answers "unavailable".
//!
//! The private key must never leave WebCrypto (it is not extractable).

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::T;
use ecert_core::Lang;

/// A certificate role this phone holds a key for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// Where the private key lives in IndexedDB.
    pub slot: String,
    pub device_id: String,
    pub certificate_id: String,
    pub role: ecert_core::holder::Role,
    pub institution_name: String,
    pub credit_code: String,
    pub serial: String,
    pub holder_name: String,
}

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/js/wallet.js")]
    extern "C" {
        #[wasm_bindgen(js_name = ecertSupported)]
        pub fn supported() -> bool;
        #[wasm_bindgen(js_name = ecertNewSlot)]
        pub fn new_slot() -> String;
        #[wasm_bindgen(catch, js_name = ecertCreateKey)]
        pub async fn create_key(slot: &str) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch, js_name = ecertSign)]
        pub async fn sign(slot: &str, message: &str) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch, js_name = ecertDeleteKey)]
        pub async fn delete_key(slot: &str) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(js_name = ecertLoadCards)]
        pub fn load_cards() -> String;
        #[wasm_bindgen(js_name = ecertSaveCards)]
        pub fn save_cards(json: &str);
        #[wasm_bindgen(js_name = ecertCanScan)]
        pub async fn can_scan() -> JsValue;
        #[wasm_bindgen(catch, js_name = ecertScan)]
        pub async fn scan(video_id: &str) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(js_name = ecertStopScan)]
        pub fn stop_scan();
        #[wasm_bindgen(js_name = ecertMarkScanned)]
        pub fn mark_scanned(path: &str);
        #[wasm_bindgen(js_name = ecertTakeScanned)]
        pub fn take_scanned(path: &str) -> bool;
    }

    pub fn text(v: JsValue) -> String {
        v.as_string().or_else(|| js_sys::Error::from(v).message().as_string()).unwrap_or_default()
    }
}

/// Whether this browser can hold a device key (WebCrypto and IndexedDB in a secure context).
pub fn supported() -> bool {
    #[cfg(feature = "hydrate")]
    return js::supported();
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Whether this browser has a camera to scan codes with (through its own detector or the
/// wallet's decoder).
pub async fn can_scan() -> bool {
    #[cfg(feature = "hydrate")]
    return js::can_scan().await.as_bool().unwrap_or(false);
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Scans one QR code with the camera into the `<video id=video_id>`; answers its text.
pub async fn scan(video_id: &str) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    return js::scan(video_id).await.map(js::text).map_err(js::text);
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = video_id;
        Err("unavailable".into())
    }
}

pub fn stop_scan() {
    #[cfg(feature = "hydrate")]
    js::stop_scan();
}

/// The wallet's scanner is about to open `path` (a path and query of this site) in this tab.
pub fn mark_scanned(path: &str) {
    #[cfg(feature = "hydrate")]
    js::mark_scanned(path);
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Whether the wallet's own scanner opened this page (once: a reload asks again).
pub fn opened_by_scanner() -> bool {
    #[cfg(feature = "hydrate")]
    {
        let Some(location) = web_sys::window().map(|w| w.location()) else { return false };
        let path = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
        js::take_scanned(&path)
    }
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Creates a key pair in a new slot; returns `(slot, public key)`.
pub async fn create_key() -> Result<(String, String), String> {
    #[cfg(feature = "hydrate")]
    {
        let slot = js::new_slot();
        let public_key = js::create_key(&slot).await.map_err(js::text)?;
        Ok((slot, js::text(public_key)))
    }
    #[cfg(not(feature = "hydrate"))]
    Err("unavailable".into())
}

/// Signs `ecert_core::device::message(action, subject)` with the key of `slot`.
pub async fn sign(slot: &str, action: &str, subject: &str) -> Result<String, String> {
    let message = ecert_core::device::message(action, subject);
    #[cfg(feature = "hydrate")]
    return js::sign(slot, &message).await.map(js::text).map_err(js::text);
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (slot, message);
        Err("unavailable".into())
    }
}

/// One device-signed call, the wallet's every action: `signature` is what [`sign`] or
/// [`sign_text`] answered, and `call` takes the signature to the server. A key that could not sign
/// and a call the server refused both come back as the text to show the holder.
pub async fn signed_call<R, Fut>(
    lang: Lang,
    signature: Result<String, String>,
    call: impl FnOnce(String) -> Fut,
) -> Result<R, String>
where
    Fut: Future<Output = Result<R, AppError>>,
{
    let signature = signature.map_err(|e| key_error(lang, &e))?;
    call(signature).await.map_err(|e| e.message(lang))
}

/// What the holder reads when this phone's key could not do its part.
pub fn key_error(lang: Lang, detail: &str) -> String {
    format!("{}{detail}", T::DeviceError.get(lang))
}

/// The phone's clock in milliseconds, for a timed signature (`ecert_core::device::timed_subject`),
/// never the same twice on one page: the server takes each signing time of a device once, so two
/// signatures made in one millisecond would refuse each other. 0 on the server, which never signs.
pub fn now_millis() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        thread_local! { static LAST: std::cell::Cell<i64> = const { std::cell::Cell::new(0) }; }
        LAST.with(|last| {
            let t = (js_sys::Date::now() as i64).max(last.get() + 1);
            last.set(t);
            t
        })
    }
    #[cfg(not(feature = "hydrate"))]
    0
}

/// Signs `action` over [`timed_subject`](ecert_core::device::timed_subject)`(subject, now)`:
/// every message a device signs on itself carries its time (issue 14 §5). Answers the time with
/// the signature.
pub async fn sign_timed(slot: &str, action: &str, subject: &str) -> (i64, Result<String, String>) {
    let signed_at = now_millis();
    (signed_at, sign(slot, action, &ecert_core::device::timed_subject(subject, signed_at)).await)
}

/// Signs exactly `text` with the key of `slot` (a document's payload, `ecert_core::signing::payload`,
/// which is deliberately not a device message).
pub async fn sign_text(slot: &str, text: &str) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    return js::sign(slot, text).await.map(js::text).map_err(js::text);
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (slot, text);
        Err("unavailable".into())
    }
}

pub async fn delete_key(slot: &str) {
    #[cfg(feature = "hydrate")]
    let _ = js::delete_key(slot).await;
    #[cfg(not(feature = "hydrate"))]
    let _ = slot;
}

/// The cards this phone holds (empty on the server).
pub fn cards() -> Vec<Card> {
    #[cfg(feature = "hydrate")]
    return serde_json::from_str(&js::load_cards()).unwrap_or_default();
    #[cfg(not(feature = "hydrate"))]
    Vec::new()
}

/// Adds a card, replacing any earlier card of the same certificate (one binding per holder).
pub fn save_card(card: Card) {
    let mut all = cards();
    all.retain(|c| c.certificate_id != card.certificate_id);
    all.push(card);
    store(&all);
}

/// Forgets the card of `device_id` on this phone (its key is deleted apart).
pub fn forget_card(device_id: &str) {
    let mut all = cards();
    all.retain(|c| c.device_id != device_id);
    store(&all);
}

fn store(all: &[Card]) {
    #[cfg(feature = "hydrate")]
    js::save_cards(&serde_json::to_string(all).unwrap_or_else(|_| "[]".into()));
    #[cfg(not(feature = "hydrate"))]
    let _ = all;
}
