//! Issue 16 journey 3: management in the wallet. A manager's card opens a panel that does what
//! the dashboard does, with the dashboard's own tables and forms: each write is signed by this
//! phone over the exact action, with the certificate password typed in the panel — the phone is
//! the approval (R21). Codes it makes show here as QRs, for the other person's phone to scan.

use ecert_core::device::action;
use ecert_core::holder::{HolderView, ManageView, Role};
use ecert_core::login::approval::Action;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;

use super::device::{self, Card};
use crate::dashboard::{AddHolder, CodeQr, DashCtx, FaceToFace, GrantForm, HolderTable, WalletExec};
use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

/// The holders the manager of this phone may see (R7) and the matters it may grant. Signed
/// `manage-list` over the device id and the time of signing.
#[server(prefix = "/api/v1/wallet", endpoint = "manage_list", input = Json)]
pub async fn wallet_manage_list(device_id: String, signed_at: i64, signature: String) -> Result<ManageView, AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::holder::manage_list(&state.db, &device_id, (signed_at, &signature), now).await?)
}

/// Does a management action (`action`: the JSON of a dashboard action, signed as it stands)
/// with the certificate password; answers the QR of the code it made, if any. Signed `manage`
/// over the action and the time of signing.
#[server(prefix = "/api/v1/wallet", endpoint = "manage", input = Json)]
pub async fn wallet_manage(
    device_id: String,
    action: String,
    signed_at: i64,
    signature: String,
    password: String,
) -> Result<Option<FaceToFace>, AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let password = ecert_core::secret::Secret::new(password);
    let signed = (signed_at, signature.as_str());
    let made = ecert_core::holder::manage(
        &state.db,
        &device_id,
        &action,
        signed,
        password,
        &state.identity,
        now,
        &state.random,
    )
    .await?;
    made.map(crate::dashboard::managed_qr).transpose()
}

/// Signs `act` with the card's key and sends it with the panel's password; the panel then
/// shows the code's QR, or the error, and reloads its list.
pub(crate) fn run(ctx: DashCtx, exec: WalletExec, lang: ecert_core::Lang, act: Action) {
    ctx.error.set(None);
    let password = exec.password.get_untracked();
    if password.is_empty() {
        ctx.error.set(Some(T::ManagePasswordFirst.get(lang).to_owned()));
        return;
    }
    // R21 on the phone: a write that stops someone's phone, a role or a grant, or takes a right
    // away, asks first and says so (the PC's approval on the phone names it the same way).
    if warning_of(&act).is_some() {
        exec.pending.set(Some(act));
        return;
    }
    send(ctx, exec, lang, act, password);
}

/// Signs `act` with the card's key and sends it with `password`.
fn send(ctx: DashCtx, exec: WalletExec, lang: ecert_core::Lang, act: Action, password: String) {
    let card = exec.card.get_value();
    spawn_local(async move {
        let Ok(json) = serde_json::to_string(&act) else { return };
        let (signed_at, signature) = device::sign_timed(&card.slot, action::MANAGE, &json).await;
        let result = device::signed_call(lang, signature, |sig| {
            wallet_manage(card.device_id.clone(), json.clone(), signed_at, sig, password)
        })
        .await;
        match result {
            Ok(qr) => {
                if qr.is_some() {
                    ctx.qr.set(qr);
                }
                ctx.changed.update(|n| *n += 1);
            }
            Err(e) => ctx.error.set(Some(e)),
        }
    });
}

/// What a destructive action stops, to confirm before the phone signs it.
fn warning_of(act: &Action) -> Option<T> {
    match act {
        Action::RemoveHolder { .. } => Some(T::ConfirmRemoveHolder),
        Action::RedownloadCode { .. } => Some(T::ConfirmRedownload),
        Action::CancelGrant { .. } => Some(T::ConfirmCancelGrant),
        Action::SetMayAuthorize { allowed: false, .. } => Some(T::ConfirmWithdrawRight),
        _ => None,
    }
}

/// The question a destructive write waits behind: what it stops, and the holder's answer.
#[component]
fn ConfirmWrite(ctx: DashCtx, exec: WalletExec) -> impl IntoView {
    let lang = use_lang();
    let yes = move |_| {
        if let Some(act) = exec.pending.get_untracked() {
            exec.pending.set(None);
            ctx.error.set(None);
            send(ctx, exec, lang, act, exec.password.get_untracked());
        }
    };
    move || {
        exec.pending.get().and_then(|act| warning_of(&act)).map(|warning| {
            view! {
                <div class="confirm" role="alertdialog" data-testid="manage-confirm">
                    <p>{t(warning)}</p>
                    <button type="button" class="danger" data-testid="manage-confirm-yes" on:click=yes>{t(T::ApplyChange)}</button>
                    <button type="button" class="secondary" data-testid="manage-confirm-no"
                        on:click=move |_| exec.pending.set(None)>{t(T::Dismiss)}</button>
                </div>
            }
        })
    }
}

/// The management panel of a manager's card: the certificate password for its writes, the
/// managers (the first manager's) and users with their grants, the forms, and the last QR made.
#[component]
pub fn ManagePanel(card: Card) -> impl IntoView {
    let lang = use_lang();
    let (open, set_open) = signal(false);
    let password = RwSignal::new(String::new());
    let is_first = card.role == Role::FirstManager;
    let exec = WalletExec { card: StoredValue::new(card.clone()), password, pending: RwSignal::new(None) };
    let ctx = DashCtx::for_wallet(exec);
    provide_context(ctx);
    let (list, set_list) = signal(None::<Result<ManageView, String>>);
    Effect::new(move |_| {
        ctx.changed.track();
        if !open.get() {
            return;
        }
        let card = exec.card.get_value();
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&card.slot, action::MANAGE_LIST, &card.device_id).await;
            let result =
                device::signed_call(lang, signature, |sig| wallet_manage_list(card.device_id.clone(), signed_at, sig))
                    .await;
            set_list.set(Some(result));
        });
    });
    view! {
        <button type="button" class="small secondary" data-testid="manage-button" on:click=move |_| set_open.update(|o| *o = !*o)>
            {t(T::ManageInWallet)}
        </button>
        <Show when=move || open.get()>
            <section class="manage" data-testid="manage">
                <label>{t(T::CertificatePassword)}
                    <input type="password" name="manage_password" autocomplete="current-password" bind:value=password />
                </label>
                <p class="hint">{t(T::ManageHint)}</p>
                <p class="error" role="alert" data-testid="manage-error">{move || ctx.error.get()}</p>
                <ConfirmWrite ctx exec />
                <CodeQr qr=ctx.qr />
                {move || list.get().map(|l| match l {
                    Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                    Ok(ManageView { me, holders, matters }) => {
                        let managers: Vec<HolderView> = holders.iter().filter(|h| h.role == Role::Manager).cloned().collect();
                        let users: Vec<HolderView> = holders.iter().filter(|h| h.role == Role::User).cloned().collect();
                        let authorizes = is_first || holders.iter().any(|h| h.id == me && h.may_authorize);
                        view! {
                            {is_first.then(|| view! {
                                <h3>{t(T::Managers)}</h3>
                                <HolderTable list=managers.clone() first=true />
                                <AddHolder role=Role::Manager matters=Vec::new() />
                            })}
                            <h3>{t(T::Users)}</h3>
                            <HolderTable list=users.clone() />
                            {authorizes.then(|| view! {
                                <GrantForm users=users.clone() matters=matters.clone() />
                                <AddHolder role=Role::User matters=matters.clone() />
                            })}
                        }
                        .into_any()
                    }
                })}
            </section>
        </Show>
    }
}
