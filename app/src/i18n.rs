//! Interface texts in Simplified Chinese (default) and English.
//!
//! Every visible string of the interface is a [`T`] key with both texts side by side, so a page
//! cannot show a string that lacks a translation. The language comes from the `ecert_lang`
//! cookie, read on the server when rendering and in the browser when hydrating, so both agree.

use ecert_core::Lang;
use leptos::prelude::*;

macro_rules! texts {
    ($($key:ident => $zh:literal, $en:literal;)*) => {
        /// A text of the interface.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum T { $($key),* }

        impl T {
            pub fn get(self, lang: Lang) -> &'static str {
                match self {
                    $(T::$key => lang.pick($zh, $en),)*
                }
            }
        }
    };
}

texts! {
    AppName => "事业单位法人电子证书", "Public Institution Legal-Person e-Certificate";
    AppTagline => "登记管理机关签发，管理人授权，使用人扫码登录与出示", "Issued by registration authorities, delegated by managers, scanned and shown by the staff who act for the institution";
    SwitchLanguage => "English", "中文";
    SwitchLanguageLabel => "切换到英文界面", "Switch to Chinese";
    Home => "首页", "Home";
    StaffConsole => "登记管理机关工作台", "Staff console";
    StaffConsoleDesc => "工作人员登记事业单位、签发证书、办理变更", "Authority staff register institutions, issue certificates and record changes";
    ManagerDashboard => "管理人后台", "Manager dashboard";
    ManagerDashboardDesc => "管理人扫码登录，授权管理人与使用人", "Managers scan to sign in and delegate to managers and users";
    Verifier => "柜台核验", "Counter verification";
    VerifierDesc => "政务大厅、银行柜台核验出示的证书", "Government halls and bank counters verify a presented certificate";
    Wallet => "手机证书钱包", "Mobile wallet";
    WalletDesc => "持证人在手机上领取、出示和使用证书", "Holders claim, show and use the certificate on their phone";
    NotYetAvailable => "此功能正在建设中，尚未开放。", "This part is being built and is not open yet.";
    SystemCheck => "系统自检", "System check";
    SystemCheckRun => "检查服务与数据库", "Check server and database";
    SystemCheckRunning => "检查中…", "Checking…";
    SystemCheckOk => "服务正常，数据库连接正常", "Server is up and the database answers";
    SystemCheckBackend => "数据库", "Database";
    NotFoundTitle => "页面不存在", "Page not found";
    NotFoundBody => "您访问的页面不存在或已被移除。", "The page you asked for does not exist or has been removed.";
    BackHome => "返回首页", "Back to the home page";
    InternalError => "系统内部错误，请稍后重试。请求编号：", "Internal error, please try again later. Request id: ";
    StaffSignIn => "工作人员登录", "Staff sign-in";
    UserName => "用户名", "User name";
    Password => "密码", "Password";
    SignIn => "登录", "Sign in";
    SignOut => "退出登录", "Sign out";
    SignedInAs => "已登录：", "Signed in as";
    IssueTitle => "登记事业单位并签发电子证书", "Register an institution and issue its certificate";
    Institution => "事业单位", "Institution";
    CreditCode => "统一社会信用代码", "Unified social credit code";
    InstitutionName => "单位名称", "Institution name";
    Address => "住所", "Address";
    LegalRep => "法定代表人", "Legal representative";
    PersonName => "姓名", "Name";
    IdNumber => "身份证号码", "Resident ID number";
    Mobile => "手机号码", "Mobile number";
    FirstManager => "第一管理责任人", "First manager";
    FirstManagerIsLegalRep => "由法定代表人担任", "The legal representative";
    FirstManagerIsDelegate => "法定代表人书面授权他人担任（表一）", "Another person, authorized in writing (form 1)";
    DelegateName => "第一管理责任人姓名", "First manager's name";
    DelegateIdNumber => "第一管理责任人身份证号码", "First manager's ID number";
    DelegateMobile => "第一管理责任人手机号码", "First manager's mobile";
    IssueButton => "核验身份并签发", "Verify identities and issue";
    CertificateList => "本机关签发的证书", "Certificates of this authority";
    NoCertificates => "尚未签发证书", "No certificates issued yet";
    Serial => "证书序列号", "Serial number";
    ClaimStatus => "领取状态", "Claim status";
    NotClaimed => "待领取", "Not claimed";
    Claimed => "已领取", "Claimed";
    Removed => "已失效", "Void";
    RefreshClaim => "重新生成领取码", "New claim code";
    ClaimSlip => "电子证书领取单", "Certificate claim slip";
    ClaimQr => "领取二维码", "Claim QR code";
    ValidUntil => "有效期至", "Valid until";
    ClaimHint => "请第一管理责任人使用手机证书钱包扫描二维码领取证书。二维码仅可使用一次。", "The first manager scans this QR code with the mobile wallet to claim the certificate. It works once.";
    ClaimLink => "领取链接", "Claim link";
    Print => "打印领取单", "Print the slip";
    NetworkError => "网络错误，请检查网络后重试", "Network error, please check the connection and retry";
}

/// The language of the current page.
pub fn use_lang() -> Lang {
    use_context::<Lang>().unwrap_or_default()
}

/// Reads the visitor's language choice: from the request on the server, from `document.cookie`
/// in the browser.
pub fn detect_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts.headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).map(Lang::from_cookie_header)
            })
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        use wasm_bindgen::JsCast;
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
            .and_then(|d| d.cookie().ok())
            .map(|c| Lang::from_cookie_header(&c))
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Lang::default()
    }
}

/// A text in the page's language, for use in `view!`.
pub fn t(key: T) -> &'static str {
    key.get(use_lang())
}
