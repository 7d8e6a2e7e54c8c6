//! Interface texts in Simplified Chinese (default) and English.
//!
//! Every visible string of the interface is a [`T`] key with both texts side by side, so a page
//! cannot show a string that lacks a translation. The language comes from the `ecert_lang`
//! cookie, read on the server when rendering and in the browser when hydrating, so both agree.

use ecert_core::Lang;
use ecert_core::changes::ChangeKind;
use ecert_core::holder::Role;
use ecert_core::usage::UsageKind;
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
    ShowCertificate => "出示证书", "Show certificate";
    UsageRecords => "使用记录", "Usage records";
    UsageKind => "类型", "Kind";
    UsageAll => "全部", "All";
    UsageLogin => "扫码登录", "Scan login";
    UsagePresent => "出示核验", "Verified presentation";
    UsageSign => "扫码签名", "Scan signing";
    UsageTime => "时间", "Time";
    UsageSystem => "应用系统或柜台", "System or counter";
    UsageResult => "结果", "Result";
    FromDay => "开始日期", "From";
    ToDay => "结束日期", "To";
    ExportCsv => "导出CSV", "Export CSV";
    DownloadCsv => "下载使用记录（CSV）", "Download usage records (CSV)";
    PrevPage => "上一页", "Previous";
    NextPage => "下一页", "Next";
    PublicCheck => "公开核验页", "Public check page";
    NoRecords => "暂无记录", "No records yet";
    PresentTitle => "出示证书", "Show the certificate";
    PresentHint => "请柜台扫描条码或输入数字码；任何人都可用手机扫描二维码核验真伪。三者5分钟内有效。", "Let the counter scan the barcode or type the number; anyone can scan the QR code with a phone to check it. All three are valid for 5 minutes.";
    PresentButton => "生成出示码", "Show codes";
    PresentValidFor => "剩余有效时间", "Valid for";
    SecondsUnit => "秒", "s";
    PresentExpired => "出示码已过期，请刷新", "The codes have expired; refresh for new ones";
    ChooseGrant => "选择要出示的授权", "Choose the grant to show";
    NumericCode => "数字码", "Numeric code";
    CheckTitle => "电子证书核验", "Certificate check";
    CheckGenuine => "证书真实有效", "Genuine and current";
    CheckInvalid => "无效或已过期", "Invalid or expired";
    CertificateStatus => "证书状态", "Certificate status";
    LegalRepName => "法定代表人", "Legal representative";
    GrantPeriod => "授权期限", "Grant period";
    NoGrantForManagers => "管理人（无需授权事项）", "Manager (no matters needed)";
    CheckedAt => "核验时间", "Checked at";
    CounterSignIn => "柜台登录", "Counter sign-in";
    CounterSignedIn => "当前柜台：", "Counter:";
    VerifyCode => "核验码", "Code";
    VerifyCodeHint => "扫码枪扫描条码，或手工输入16位数字码后按回车", "Scan the barcode with a scanner, or type the 16-digit number and press Enter";
    VerifyButton => "核验", "Verify";
    CheckOthers => "核验他人出示的证书", "Check someone else's certificate";
    CheckOthersHint => "扫描对方出示的条形码，或输入其下方的16位数字码，查看证书是否真实有效。", "Scan the barcode they show, or type the 16-digit number under it, to see whether the certificate is genuine and valid.";
    PresentedNumber => "对方的数字码", "Their number";
    NumberFormat => "数字码应为16位数字", "The number has 16 digits";
    PartiesTitle => "应用系统与柜台", "Relying parties and counters";
    PartyName => "系统名称", "System name";
    RedirectUris => "回调地址（每行一个，可为空）", "Redirect URLs (one per line, may be empty)";
    RegisterParty => "登记应用系统", "Register";
    ClientId => "客户端标识 client_id", "Client id";
    ClientSecret => "客户端密钥（仅显示一次）", "Client secret (shown once)";
    CounterName => "柜台名称", "Counter name";
    AddCounter => "添加柜台", "Add counter";
    CounterUserName => "柜台用户名", "Counter user name";
    CounterPassword => "柜台密码（仅显示一次）", "Counter password (shown once)";
    NoParties => "尚未登记应用系统", "No relying parties yet";
    CountersOf => "柜台", "Counters";
    Wallet => "手机证书钱包", "Mobile wallet";
    WalletDesc => "持证人在手机上领取、出示和使用证书", "Holders claim, show and use the certificate on their phone";
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
    Role => "角色", "Role";
    Holder => "持证人", "Holder";
    RoleFirstManager => "第一管理责任人", "First manager";
    RoleManager => "管理人", "Manager";
    RoleUser => "使用人", "User";
    WalletLoading => "正在读取…", "Loading…";
    WalletEmpty => "此手机上还没有证书。请用手机相机扫描领取或授权二维码。", "No certificate on this phone yet. Scan a claim or authorization QR code with the phone's camera.";
    WalletScanHint => "扫码登录、领取和授权：用手机相机扫描电脑或工作人员出示的二维码，在本钱包中打开。", "To sign in, claim or accept: scan the QR code on the PC or the slip with the phone's camera and open it in this wallet.";
    ClaimTitle => "领取电子证书", "Claim the certificate";
    AcceptTitle => "接受授权", "Accept the authorization";
    CertificatePassword => "证书密码（6位以上）", "Certificate password (6+ characters)";
    RepeatPassword => "再次输入证书密码", "Repeat the certificate password";
    DownloadStatement => "下载声明：电子证书与本人身份绑定，私钥仅保存在本手机中，不会上传。请妥善保管手机和证书密码，不得转借他人使用；因保管不善造成的后果由持证人承担。", "Download statement: the certificate is bound to you; its private key stays on this phone and is never uploaded. Keep the phone and the certificate password safe and do not lend them; the holder bears the consequences of careless keeping.";
    AgreeStatement => "我已阅读并同意下载声明", "I have read and accept the download statement";
    MustAgree => "请先阅读并同意下载声明", "Please read and accept the download statement first";
    PasswordsDiffer => "两次输入的证书密码不一致", "The two certificate passwords differ";
    DeviceUnsupported => "此浏览器不支持安全存储证书密钥（需要 HTTPS 和 WebCrypto）", "This browser cannot keep a certificate key safely (HTTPS and WebCrypto are needed)";
    DeviceError => "设备密钥操作失败：", "The device key failed: ";
    ClaimButton => "领取证书", "Claim the certificate";
    AcceptButton => "接受授权", "Accept";
    AcceptDone => "已完成，证书已保存到本手机。", "Done: the certificate is now on this phone.";
    RedownloadTitle => "补办证书到本手机", "Move the certificate to this phone";
    RedownloadButton => "补办到本手机", "Move it to this phone";
    RedownloadSmsNote => "补办需验证登记的手机号：验证码发送到管理人登记的您的手机号。",
        "Moving needs the registered mobile: the code goes to the number your manager registered for you.";
    RedownloadQr => "补办二维码", "Re-download QR code";
    RedownloadHint => "请持新手机扫描此二维码，核对姓名和身份证号码后设置证书密码。原手机已停用，角色和授权保持不变。", "Scan this QR code with the new phone, confirm the name and ID number and set a certificate password. The old phone has stopped; roles and grants stay as they are.";
    ShowRedownload => "补办（换手机）", "New phone";
    ChangeNewDevice => "第一管理责任人补办（换手机）", "First manager's new phone";
    NewDeviceNotice => "核对第一管理责任人本人身份证件后办理：原手机立即停用，其他管理人、使用人和授权不受影响；第一管理责任人用新手机扫描补办凭条上的二维码。", "Check the first manager's identity card in person: the old phone stops at once, other managers, users and grants are not affected; the first manager scans the slip's QR code with the new phone.";
    RedownloadSlip => "补办凭条", "Re-download slip";
    RemoveCard => "从此手机删除", "Remove from this phone";
    RemoveCardConfirm => "删除后此手机上的证书立即停用，需由添加您的管理人（第一管理责任人须到登记管理机关）补办后才能再次使用。确定删除？", "Once removed, the certificate stops on this phone at once; to use it again, the manager who added you (the first manager: the registration authority) must give a re-download code. Remove it?";
    ConfirmRemoveCard => "确定删除", "Remove";
    GoToWallet => "打开我的证书", "Open my certificates";
    ChangePassword => "修改证书密码", "Change the certificate password";
    OldPassword => "原证书密码", "Current certificate password";
    NewPassword => "新证书密码", "New certificate password";
    Save => "保存", "Save";
    PasswordChanged => "证书密码已修改", "The certificate password is changed";
    ScanLoginTitle => "扫码登录", "Scan to sign in";
    ChooseCertificate => "请选择用于登录的证书：", "Choose the certificate to sign in with:";
    LoginAsks => "以下系统请求使用您的证书登录：", "This system asks to sign you in with your certificate:";
    MatchCodeCompare => "请点选电脑页面上显示的匹配码（选错将终止本次登录）：", "Tap the match code the PC page shows (a wrong one ends this sign-in):";
    MatchCodeCompareApprove => "请点选管理人后台页面上显示的匹配码（选错将终止本次操作）：", "Tap the match code the dashboard shows (a wrong one ends this request):";
    LinkWarningLogin => "只有当您本人就在要登录的电脑前、并用手机扫描了它屏幕上的二维码时，才能继续。如果有人通过短信、微信、电话或邮件把链接或数字发给您并要求您确认，对方正在冒用您单位的身份：请不要继续。", "Go on only if you are at the computer you want to sign in on and scanned the QR code on its screen. If someone sent you this link or a number (by SMS, WeChat, phone or email) and asks you to confirm, they are trying to act as your institution: do not go on.";
    LinkWarningSign => "只有当您本人正在该应用系统中办理业务、并扫描了它页面上的二维码时，才能继续签名。如果有人把链接发给您并要求您签名，对方正在冒用您单位的身份：请不要继续。", "Go on only if you are doing business in that system yourself and scanned the QR code on its page. If someone sent you this link and asks you to sign, they are trying to act as your institution: do not go on.";
    LinkWarningApprove => "只有当您本人正在电脑上操作管理人后台、并扫描了它屏幕上的二维码时，才能继续确认。如果有人把链接发给您并要求您确认，对方正在冒用您单位的身份：请不要继续。", "Go on only if you are using the manager dashboard on a computer yourself and scanned the QR code on its screen. If someone sent you this link and asks you to approve, they are trying to act as your institution: do not go on.";
    ApproveTitle => "确认后台操作", "Approve a dashboard action";
    ApproveAsks => "管理人后台请求执行以下操作：", "The manager dashboard asks to do this:";
    ConfirmApprove => "确认执行", "Approve";
    ApprovalDone => "已确认，请回到电脑继续操作。", "Approved; continue on the computer.";
    ApprovalRejected => "已拒绝此操作。", "You rejected this action.";
    ApprovalQr => "请用手机证书钱包扫码确认此操作", "Approve this action with the phone wallet";
    ApprovalHint => "为防止后台会话被盗用，添加或移除人员、授权和显示当面授权二维码都需要在手机上确认。", "So that a stolen dashboard session cannot grant powers, adding or removing people, grants and face-to-face codes are approved on the phone.";
    ApprovalLink => "确认链接", "Approval link";
    ApprovalWaiting => "等待手机扫码确认…", "Waiting for the phone…";
    ApprovalScanned => "已扫码，请在手机上核对并确认", "Scanned: check and approve on the phone";
    ApprovalApprovedPc => "已确认，正在执行…", "Approved, doing it…";
    ApprovalRejectedPc => "手机端已拒绝此操作", "The action was rejected on the phone";
    ApprovalExpiredPc => "确认已过期，请重新操作", "The approval expired; try again";
    Close => "关闭", "Close";
    NetworkDiffersApprove => "注意：发起此操作的电脑与本手机不在同一网络。如果您不在那台电脑前，请拒绝。", "Note: the computer that asks is on another network than this phone. If you are not at that computer, reject.";
    SessionsAndNotices => "登录会话与动态", "Sessions and notices";
    Sessions => "正在登录的会话", "Live sessions";
    NoSessions => "没有正在登录的会话", "No live sessions";
    EndSession => "结束", "End";
    SessionEnded => "已结束该会话", "The session has ended";
    Notices => "最近新增的管理人和使用人", "Managers and users added lately";
    ContinueFromLink => "我就在该页面前，继续", "I am at that page: continue";
    RequestedFrom => "发起地址", "Asked from";
    RequestedWith => "浏览器", "Browser";
    RequestedAt => "发起时间", "Asked at";
    PartyDomain => "登记域名", "Registered domain";
    NetworkDiffers => "注意：发起登录的电脑与本手机不在同一网络。如果您不在那台电脑前，请拒绝。", "Note: the computer that asked is on another network than this phone. If you are not at that computer, reject.";
    ConfirmLogin => "确认登录", "Confirm sign-in";
    RejectLogin => "拒绝", "Reject";
    LoginConfirmed => "已确认登录，请回到电脑继续操作。", "Sign-in confirmed; continue on the PC.";
    LoginRejected => "已拒绝此次登录。", "You rejected this sign-in.";
    ScanToSignIn => "扫码登录管理人后台", "Scan to sign in to the dashboard";
    ScanToSignInHint => "第一管理责任人或管理人使用手机证书钱包扫描二维码登录。", "The first manager or a manager scans this QR code with the mobile wallet.";
    LoginQr => "登录二维码", "Sign-in QR code";
    MatchCode => "匹配码", "Match code";
    LoginLink => "登录链接", "Sign-in link";
    LoginWaiting => "等待扫码…", "Waiting for a scan…";
    LoginScanned => "已扫码，请在手机上点选本页的匹配码并确认", "Scanned: tap this page's match code on the phone and confirm";
    LoginConfirmedPc => "已确认，正在登录…", "Confirmed, signing in…";
    LoginRejectedPc => "手机端已拒绝登录", "The sign-in was rejected on the phone";
    LoginExpired => "二维码已过期，正在刷新…", "The QR code expired; getting a new one…";
    NewLoginQr => "重新获取二维码", "New QR code";
    FaceToFaceQr => "面对面授权二维码", "Face-to-face authorization QR code";
    FaceToFaceHint => "请被授权人当面用自己的手机扫描此二维码，5分钟内有效，仅可使用一次。", "The person scans this QR code face to face with their own phone; it works once, within 5 minutes.";
    AcceptLink => "授权链接", "Authorization link";
    Managers => "管理人", "Managers";
    Users => "使用人", "Users";
    AddManager => "添加管理人", "Add a manager";
    AddUser => "添加使用人并授权", "Add a user and grant";
    Grants => "授权事项与期限", "Matters and period";
    StartDay => "开始日期", "Start date";
    EndDay => "结束日期", "End date";
    GrantEffective => "生效中", "In force";
    GrantNotEffective => "不在有效期内", "Outside its period";
    GrantCancelled => "已取消", "Cancelled";
    GrantWaiting => "待使用人扫码接收", "Waiting for the user to scan it";
    GrantQr => "授权二维码", "Grant QR code";
    GrantQrHint => "请使用人用本人手机扫描此二维码接收授权，5分钟内有效，仅可使用一次。", "The user scans this QR code with their own phone to receive the grant; it works once, within 5 minutes.";
    ShowGrantQr => "授权二维码", "Grant QR";
    GrantedBy => "授权人", "Granted by";
    GrantedAt => "授权时间", "Granted at";
    CancelledAt => "取消时间", "Cancelled at";
    ReceivedAt => "接收时间", "Received at";
    AddGrant => "新增授权", "New grant";
    GrantTo => "使用人", "User";
    GrantNoMattersHint => "授权事项和起止日期可以都不填：先登记使用人，之后再授权。", "Matters and dates may all be left empty: register the user now and grant later.";
    MayAuthorize => "使用人授权", "May authorize users";
    MayAuthorizeGive => "授予使用人授权权限", "Let authorize users";
    MayAuthorizeWithdraw => "收回使用人授权权限", "Withdraw the right to authorize users";
    MayAuthorizeYes => "可授权使用人", "May authorize users";
    MayAuthorizeNo => "不可授权使用人", "May not authorize users";
    NoAuthorizeRight => "第一管理责任人未授予您使用人授权权限：可以查看和取消，不能新增使用人或授权。", "The first manager has not given you the right to authorize users: you can view and cancel, not add users or grants.";
    CertificateFace => "查看证书", "View the certificate";
    ManageInWallet => "管理", "Manage";
    ManageHint => "每项操作都由本手机签名，并使用上面填写的证书密码。", "Each action is signed by this phone with the certificate password above.";
    ManagePasswordFirst => "请先填写证书密码", "Type the certificate password first";
    OpenFace => "查看", "Open";
    IssuingAuthority => "发证机关", "Issuing authority";
    GrantReceiveTitle => "接收授权", "Receive a grant";
    GrantReceiveButton => "接收授权", "Receive the grant";
    GrantReceived => "已接收，授权在有效期内生效。", "Received: the grant is in force within its period.";
    GrantNoCard => "本手机没有该单位的证书：请先用本人手机接受使用人授权。", "This phone holds no certificate of that institution: accept your user role on your own phone first.";
    Period => "有效期", "Period";
    CancelGrant => "取消授权", "Cancel grant";
    ShowFaceToFace => "面对面授权", "Face-to-face QR";
    Remove => "移除", "Remove";
    Status => "状态", "Status";
    StatusPending => "待接受", "Awaiting acceptance";
    StatusActive => "已生效", "Active";
    NoneYet => "暂无", "None yet";
    ChangeRecords => "证书变动记录", "Change records";
    ForgotPassword => "忘记或锁定密码", "Forgotten or locked password";
    SendSmsCode => "发送短信验证码", "Send an SMS code";
    SmsSent => "验证码已发送至 ", "Code sent to ";
    SmsCode => "短信验证码", "SMS code";
    ResetPassword => "重置证书密码", "Reset the password";
    PasswordReset => "证书密码已重置并解锁", "The certificate password is reset and unlocked";
    SmsOutbox => "短信发件箱（开发网关）", "SMS outbox (development gateway)";
    SmsDeliveries => "短信发送记录", "SMS deliveries";
    SmsDeliveriesHint => "本机关持证人的短信：已发送、等待重试或发送失败，以及短信网关的答复；不显示短信内容。",
        "Messages to this authority's holders: delivered, waiting for another attempt, or given up, with the gateway's answer; never their content.";
    NoSms => "暂无短信", "No messages yet";
    SentAt => "时间", "Time";
    SmsKindHeader => "短信类型", "Kind";
    SmsState => "发送状态", "State";
    SmsAttempts => "尝试次数", "Attempts";
    SmsGatewayAnswer => "网关答复", "Gateway's answer";
    SmsPasswordReset => "证书密码重置验证码", "Certificate password reset code";
    SmsRedownload => "补办到新手机验证码", "New-phone code";
    SmsApplicantSignIn => "设立登记登录验证码", "Establishment sign-in code";
    ConfirmRemoveHolder => "确定移除此人？其手机上的证书立即失效，其授权一并取消；移除管理人时，其添加的使用人一并移除。",
        "Remove this person? The certificate on their phone stops at once and their grants are cancelled; removing a manager also removes the users they added.";
    ConfirmRedownload => "确定生成补办二维码？此人原手机上的证书立即停用，直至用新手机补办。",
        "Make a re-download QR? The certificate on this person's present phone stops at once, until they take it up on the new one.";
    ConfirmCancelGrant => "确定取消此授权？此人立即不能再凭此授权办理。",
        "Cancel this grant? This person can no longer act under it, at once.";
    ConfirmWithdrawRight => "确定收回此管理人给使用人授权的权限？",
        "Withdraw this manager's right to authorize users?";
    SmsQueued => "等待重试", "Waiting to retry";
    SmsDelivered => "已发送", "Delivered";
    SmsFailed => "发送失败", "Failed";
    SmsOutboxHint => "开发环境下短信不真正发送，而是写入此发件箱。", "In development, SMS messages are not sent but kept in this outbox.";
    ChangesTitle => "办理变更", "Record a change";
    ChangeKind => "变更事项", "Change";
    ChangeLegalRep => "法定代表人变更", "Legal representative change";
    ChangeFirstManager => "第一管理责任人变更（表二）", "First manager change (form 2)";
    ChangeName => "名称变更", "Name change";
    ChangeMobile => "第一管理责任人手机号码变更", "First manager's mobile change";
    ChangeAddress => "住所变更", "Address change";
    ChangeRepMobile => "法定代表人手机号码变更", "Legal representative's mobile change";
    NewAddress => "变更后的地址", "New address";
    ChangeCancel => "注销证书", "Cancel the certificate";
    AuthoritiesBelow => "下级登记管理机关", "Authorities below";
    FindCertificate => "查找证书（名称、信用代码或编号）", "Find (name, credit code or serial)";
    AnyStatus => "全部", "Any";
    ConfirmChange => "确认，立即生效", "Yes, apply it now";
    Details => "详情", "Details";
    SuspendParty => "暂停", "Suspend";
    ResumeParty => "恢复", "Resume";
    PartySuspended => "已暂停", "Suspended";
    RotateSecret => "更换密钥", "New client secret";
    EditRedirects => "该系统的回调地址", "This system's redirect URLs";
    SaveRedirects => "保存回调地址", "Save the redirect URLs";
    DirectoryFeed => "证书目录订阅", "Directory feed";
    DirectorySubscribe => "订阅证书目录", "Subscribe to the directory";
    DirectoryUnsubscribe => "取消目录订阅", "End the subscription";
    WebhookUrl => "推送地址（Webhook，不填则仅拉取）", "Webhook URL (empty: pull only)";
    SaveWebhook => "保存推送地址", "Save the webhook";
    DirectoryPullOnly => "仅拉取", "Pull only";
    DirectoryDelivered => "已推送至事件", "Delivered up to event";
    DirectoryLastError => "最近一次推送失败", "Last delivery failed";
    DirectoryNextAttempt => "下次重试", "Next attempt";
    WebhookSecret => "推送签名密钥（仅显示一次）", "Webhook signing secret (shown once)";
    Filings => "登记业务", "Registration business";
    FilingsHint => "变更登记、年度报告、注销登记和证书补领在此办理：填写后生成申报文件，用手机上的证书签署提交，登记管理机关审核。", "File a change registration, an annual report, a cancellation or a certificate reissue here: fill in the form, sign the document with the certificate on your phone, and the registration authority reviews it.";
    FilingKindLabel => "办理业务", "Business";
    FilingPrepare => "生成申报文件", "Make the document";
    FilingDocumentTitle => "待签署的申报文件", "Document to sign";
    FilingDigest => "文件摘要", "Document digest";
    FilingSignHint => "手机上显示的文件摘要应与此一致；确认后输入证书密码签署。", "The phone shows the same digest; check it, then sign with the certificate password.";
    FilingSign => "用手机签署并提交", "Sign on the phone and file";
    NoFilings => "暂无登记业务。", "No filings yet.";
    FilingSubmitted => "待审核", "Waiting for review";
    FilingApproved => "已核准", "Approved";
    FilingReturned => "已退回", "Returned";
    FilingSubmittedAt => "提交时间", "Filed at";
    FilingReviewNote => "审核意见", "Review note";
    FilingNewName => "新名称（不变则留空）", "New name (empty: unchanged)";
    FilingNewAddress => "新住所（不变则留空）", "New address (empty: unchanged)";
    FilingNewRepName => "新法定代表人姓名（不变则留空）", "New legal representative's name (empty: unchanged)";
    FilingNewRepId => "新法定代表人身份证号码", "New legal representative's ID number";
    FilingNewRepMobile => "新法定代表人手机号码", "New legal representative's mobile";
    FilingReason => "事由", "Reason";
    FilingYear => "报告年度", "Report year";
    FilingActivities => "开展业务活动情况", "Business activities";
    FilingNetAssetsStart => "年初净资产（万元）", "Net assets at the start of the year (10k yuan)";
    FilingNetAssetsEnd => "年末净资产（万元）", "Net assets at the end of the year (10k yuan)";
    FilingAssetsStart => "年初资产总额（万元）", "Total assets at the start of the year (10k yuan)";
    FilingAssetsEnd => "年末资产总额（万元）", "Total assets at the end of the year (10k yuan)";
    FilingCompliance => "对变更登记规定的执行情况", "Compliance with the change registration rules";
    FilingPerformance => "绩效和受奖惩情况", "Performance, awards and penalties";
    FilingLitigation => "涉及诉讼情况", "Litigation";
    FilingComplaints => "社会投诉情况", "Complaints";
    FilingOther => "其他需要报告的情况", "Other matters to report";
    FilingReview => "登记业务审核", "Registration filings";
    FilingWaiting => "待审核", "Waiting";
    FilingAll => "全部", "All";
    FilingOpen => "查看", "Open";
    FilingFiledBy => "申报人", "Filed by";
    FilingDigestMatches => "与签署的摘要一致", "matches the signed digest";
    FilingDigestBroken => "与签署的摘要不一致！", "does NOT match the signed digest!";
    FilingApprove => "核准", "Approve";
    FilingReturn => "退回修改", "Return for correction";
    FilingReturnReasons => "退回理由", "Reasons for returning";
    ReportsTitle => "事业单位年度报告公示", "Annual reports of public institutions";
    ReportsDesc => "已核准的事业单位法人年度报告", "Approved annual reports of public institutions";
    EstablishTitle => "事业单位设立登记", "Establishment registration";
    EstablishDesc => "举办单位经办人用手机号登录，在线申请设立登记", "Founding organisers sign in with a mobile number and apply to register a new institution";
    EstablishLead => "填写设立登记申请书并上传材料，提交登记管理机关审核；核准后即登记并签发电子证书，在此领取领取单。", "Fill in the establishment application, attach the papers and submit it to the registration authority; once approved, the institution is registered, its certificate issued, and the claim slip is here.";
    ApplicantSignIn => "申请人登录", "Applicant sign-in";
    FilingSignature => "手机证书签名", "Phone signature";
    FilingSignatureValid => "签名验证通过", "Signature verified";
    FilingSignatureBroken => "签名验证未通过", "Signature does not verify";
    MyApplications => "我的设立申请", "My applications";
    NoApplications => "暂无设立申请。", "No applications yet.";
    CorrectAndResubmit => "修改后重新提交", "Correct and resubmit";
    TakeClaimSlip => "领取证书领取单", "Get the claim slip";
    EstablishClaimHint => "请法定代表人使用手机证书钱包扫描二维码领取证书，二维码仅可使用一次，有效期至", "The legal representative scans this QR code with the mobile wallet to claim the certificate; it works once, until";
    NewApplication => "新的设立登记申请", "New establishment application";
    CorrectApplication => "修改退回的申请", "Correct the returned application";
    EstablishAuthority => "受理的登记管理机关", "Registration authority applied to";
    ChooseOne => "请选择", "Choose";
    EstablishName => "拟设立单位名称", "Proposed name";
    EstablishAddress => "拟设住所", "Proposed address";
    EstablishPurpose => "宗旨和业务范围", "Purpose and scope of business";
    EstablishFunds => "开办资金（万元）", "Start-up funds (10k yuan)";
    EstablishFundingSource => "经费来源", "Source of funding";
    EstablishSponsor => "举办单位", "Sponsor";
    EstablishRepName => "拟任法定代表人姓名", "Proposed legal representative's name";
    EstablishRepId => "拟任法定代表人身份证号", "Proposed legal representative's ID number";
    EstablishRepMobile => "拟任法定代表人手机", "Proposed legal representative's mobile";
    EstablishFiles => "申请材料", "Papers";
    EstablishFilesHint => "设立登记申请书、举办单位证明、住所证明、开办资金证明、拟任法定代表人身份证明等：PDF、PNG或JPEG，每个不超过512KB，最多5个。", "The application form, the sponsor's approval, proof of address and funds, the proposed legal representative's identity: PDF, PNG or JPEG, up to 512 KB each, at most 5.";
    Uploading => "正在上传……", "Uploading…";
    SubmitApplication => "提交申请", "Submit the application";
    ApplicationSubmitted => "已提交：", "Submitted: ";
    EstablishReview => "设立登记审核", "Establishment review";
    NoEstablishments => "暂无设立申请。", "No applications.";
    EstablishAssignedCode => "统一社会信用代码（留空则自动赋码）", "Unified social credit code (empty: assign a new one)";
    EstablishApprove => "核准设立并签发证书", "Approve, register and issue";
    EstablishPapers => "附件", "Papers";
    OpenPaper => "查看", "Open";
    ReportsLead => "以下年度报告已由登记管理机关核准，按核准时间排列。", "These annual reports were approved by their registration authorities, newest first.";
    ReportsSearch => "单位名称或统一社会信用代码", "Institution name or credit code";
    Search => "查询", "Search";
    NoReports => "暂无公示的年度报告。", "No annual report has been published yet.";
    ReportPublishedAt => "公示时间", "Published";
    ReportBack => "返回列表", "Back to the list";
    MoreReports => "更多", "More";
    ScenariosTitle => "应用场景清单", "Where the certificate is accepted";
    ScenariosDesc => "可使用电子证书办事的系统和窗口，以及服务指南", "Systems and counters that accept the certificate, with their service guides";
    ScenariosLead => "以下应用系统和服务窗口接受事业单位法人电子证书：扫码登录，或在窗口出示证书。",
        "These systems and counters accept the legal-person electronic certificate: scan to log in, or show it at the counter.";
    NoScenarios => "暂无公布的应用场景。", "No scenario has been published yet.";
    ScenarioServices => "可办理事项", "Services";
    ScenarioHow => "使用方式", "How";
    ScenarioScanLogin => "扫码登录", "Scan to log in";
    ScenarioAtCounter => "窗口出示证书", "Show it at the counter";
    ScenarioEntry => "办理地点或网址", "Where";
    ScenarioAuthority => "登记管理机关", "Registration authority";
    ScenarioGuide => "服务指南", "Service guide";
    ScenarioEdit => "应用场景（公布于应用场景清单）", "Application scenario (on the public list)";
    ScenarioPublish => "在应用场景清单中公布", "Publish on the scenario list";
    SaveScenario => "保存应用场景", "Save the scenario";
    ScenarioPublished => "已公布", "Published";
    CertificatePage => "证书详情", "Certificate";
    Holders => "持有人", "Holders";
    IssuedAt => "签发时间", "Issued";
    RenewalDue => "证书有效期将在三个月内届满，请第一管理责任人到登记管理机关办理续期；续期不影响管理人、使用人和授权。",
        "The certificate's validity ends within three months: the first manager should renew it at the registration authority; renewal affects no manager, user or grant.";
    ValidityRenewalOpen => "三个月内到期，可续期", "Expires within three months: renewal open";
    ByStaff => "登记管理机关", "Registration authority";
    ByHolder => "持有人", "Holder";
    AuthorityName => "登记管理机关名称", "Authority name";
    RegionCode => "行政区划代码", "Division code";
    AdminUserName => "管理员用户名", "Administrator's user name";
    AdminDisplayName => "管理员姓名", "Administrator's name";
    CreateAuthority => "创建下级机关及其管理员", "Create the authority and its administrator";
    NoAuthoritiesBelow => "尚无下级登记管理机关", "No authorities below yet";
    InitialPassword => "初始密码（仅显示一次）", "Initial password (shown once)";
    Level => "层级", "Level";
    StaffCount => "工作人员", "Staff";
    CertificateCount => "证书数", "Certificates";
    StaffTitle => "工作人员", "Staff";
    DisplayName => "工作人员姓名", "Name";
    Duties => "岗位", "Duties";
    DutyAdminister => "管理员（人员、事项、应用系统）", "Administrator (staff, matters, relying parties)";
    DutyOperate => "业务员（发证、变更）", "Operator (issue and change)";
    DutyAudit => "审计员（只读、导出）", "Auditor (read and export)";
    AddStaff => "添加工作人员", "Add a staff member";
    StaffActive => "正常", "Active";
    StaffLocked => "已锁定", "Locked";
    StaffDisabled => "已停用", "Disabled";
    ResetStaffPassword => "重置登录密码", "Reset password";
    Unlock => "解锁", "Unlock";
    EnableStaff => "启用", "Enable";
    DisableStaff => "停用", "Disable";
    DisableStaffVoids => "停用后其登录会话立即失效，不能再登录：", "Disabling ends their sessions at once and they can no longer sign in: ";
    ConfirmDisable => "确认停用", "Disable";
    Dismiss => "取消", "Cancel";
    ActionLog => "操作日志", "Action log";
    CommandLine => "命令行", "Command line";
    Applicant => "申请人", "Applicant";
    Action => "操作", "Action";
    Detail => "内容", "Detail";
    ChangeDelete => "删除证书", "Delete the certificate";
    ChangeRenew => "证书续期", "Renew the validity";
    RenewNotice => "续期自有效期届满前三个月起办理；提前续期的，新有效期自原到期日起算；持证人、授权和设备均不受影响。",
        "Renewal opens three months before expiry; renewing early adds the new period to the old end date; no holder, grant or device is affected.";
    Statistics => "统计", "Statistics";
    RosterTitle => "应发尽发：登记名单", "Registration list: every institution a certificate";
    RosterHint => "名单CSV每行：统一社会信用代码,单位名称,住所,法定代表人姓名,法定代表人身份证号码,法定代表人手机号码,登记管理机关行政区划代码（空为本机关）", "One institution per CSV line: credit code, name, address, legal representative's name, ID number and mobile, division code of the registering authority (empty: this one)";
    RosterFile => "名单文件（CSV）", "List file (CSV)";
    RosterText => "或粘贴名单内容", "Or paste the list";
    RosterImport => "导入名单", "Import the list";
    RosterImported => "已导入行数：", "Rows imported:";
    LineNo => "第几行：", "Line";
    FindInRoster => "在名单中查找", "Find in the list";
    WithoutCertificateOnly => "只看尚未发证的单位", "Only institutions without a certificate";
    HasCertificate => "已发证", "Has a certificate";
    NoCertificateYet => "未发证", "No certificate yet";
    RosterCoverage => "已发证 / 名单单位：", "With a certificate / listed:";
    IssueSelected => "为所选单位签发证书并生成领取单", "Issue to the selected and make claim slips";
    Archives => "档案", "Archives";
    KeptUntil => "保存至", "Kept until";
    ExportArchive => "导出档案", "Export";
    PapersChecked => "材料核验（柜台）", "Papers checked at the counter";
    CheckForm => "申请表已签字盖章", "The form is signed and sealed";
    CheckLicence => "事业单位法人证书副本原件已查验", "The legal-person certificate (duplicate) original was seen";
    CheckIdentityCard => "第一管理责任人身份证原件及复印件已查验", "The first manager's identity card and copy were seen";
    CheckAuthorization => "法定代表人授权已签字（委托他人担任时）", "The legal representative's authorization is signed (for a delegate)";
    Form1Title => "事业单位法人电子证书申领表", "Application form for the legal-person e-certificate";
    Form2Title => "事业单位法人电子证书第一管理责任人变更申请表", "First manager change form of the legal-person e-certificate";
    Form1Papers => "申领电子证书时请携带本表、本单位法人证书副本原件、第一管理责任人身份证原件及复印件至登记机关办理。", "Bring this form, the original of the institution's legal-person certificate (duplicate) and the first manager's identity card with a copy to the authority.";
    Form2Papers => "请携带本表及本单位法人证书副本原件、第一管理责任人身份证原件及复印件至登记机关办理。", "Bring this form, the original of the legal-person certificate (duplicate) and the first manager's identity card with a copy to the authority.";
    Form2Because => "我单位因", "Because of";
    Form2ReasonLegalRep => "法定代表人变更", "a change of legal representative";
    Form2ReasonFirstManager => "原电子证书第一管理责任人变更", "a change of the certificate's first manager";
    FormDate => "填表日期：", "Date:";
    FormInstitution => "单位名称（盖章）", "Institution (seal)";
    FormMobile => "手机", "Mobile";
    FormIdNumber => "身份证号", "ID number";
    FormAuthority => "登记管理机关名称：", "Registration authority:";
    FormAuthorizes => "兹授权我单位", "The institution authorizes";
    FormAsFirstManager => "同志，向你局申领事业单位法人电子证书，并作为我单位电子证书的第一管理责任人。", "to apply for its legal-person e-certificate and to be its first manager.";
    FormSeal => "授权单位（盖章）：", "Authorizing institution (seal):";
    FormSignature => "法定代表人（签名）：        年    月    日", "Legal representative (signature):        date";
    FormRemark => "备注", "Remarks";
    FormMobileNote => "备注：电子证书第一管理责任人的手机号码必须是电子证书安装的同一手机，以便于电子证书找回密码时接收短信验证码。", "Note: the first manager's mobile must be the phone the certificate is installed on, to receive SMS codes for a password reset.";
    PrintForm => "打印表格", "Print the form";
    Catalogue => "授权事项目录", "Matters catalogue";
    MatterNameZh => "事项名称", "Matter name (Chinese)";
    MatterNameEn => "英文名称", "Matter name (English)";
    AddMatter => "添加事项", "Add the matter";
    RetireMatter => "停用事项", "Retire";
    MatterActive => "使用中", "In use";
    MatterRetired => "已停用（原有授权保留）", "Retired (kept on existing grants)";
    Matters => "授权事项", "Matters";
    GrantsInForce => "有效授权数", "Grants in force";
    WhichAuthority => "统计范围", "Whose figures";
    PeriodKind => "统计周期", "Period";
    ExportStatistics => "导出统计表", "Export the statistics";
    ExportIssuanceList => "导出发证清单", "Export the issuance list";
    ExportUsageList => "导出用证清单", "Export the usage list";
    DownloadFile => "下载", "Download";
    NoRelyingParty => "公众核验（无应用系统）", "Public check (no relying party)";
    ActiveCertificates => "有效证书", "Active certificates";
    Issued => "发证", "Issued";
    Ended => "注销/删除", "Ended";
    ScanLogins => "扫码登录", "Scan logins";
    CounterChecks => "柜台核验", "Counter checks";
    PublicChecks => "公众核验", "Public checks";
    Signatures => "签名", "Signatures";
    UsageByParty => "各应用系统用证次数", "Usage by relying party";
    IssuanceList => "发证清单", "Issuance list";
    UsageList => "用证清单", "Usage list";
    SubtreeCertificates => "本机关及下级机关的证书", "Certificates of this authority and those below";
    FindInSubtree => "按名称、代码或编号查找", "Find by institution, code or serial";
    NewName => "新名称", "New name";
    NewMobile => "新手机号码", "New mobile number";
    ApplyChange => "确认办理", "Record the change";
    ChangeVoidsAll => "法定代表人或第一管理责任人变更将立即作废全部授权（管理人、使用人、授权事项和设备绑定），并生成新的领取二维码。", "A legal-representative or first-manager change voids every authorization at once (managers, users, grants, device bindings) and issues a new claim QR code.";
    ChangeDone => "变更已办理", "The change is recorded";
    Manage => "变更", "Change";
    Refresh => "刷新", "Refresh";
    ScanQr => "扫一扫", "Scan a QR code";
    StopScan => "停止扫描", "Stop scanning";
    NotOurCode => "这不是本系统的电子证书二维码", "This is not an e-certificate QR code of this system";
    CameraError => "无法使用摄像头：", "The camera cannot be used: ";
    StatusCancelled => "已注销", "Cancelled";
    StatusDeleted => "已删除", "Deleted";
    StatusRenewalOpen => "三个月内到期", "Expiring within three months";
    StatusExpired => "已过有效期", "Expired";
    SignTitle => "扫码签名", "Scan to sign";
    ChooseSignCertificate => "请选择用于签名的证书：", "Choose the certificate to sign with:";
    SignAsks => "以下应用系统请求您使用证书签署文件：", "This system asks you to sign a document with your certificate:";
    SignDescription => "签名事由", "What for";
    DocumentName => "文件名称", "Document";
    DocumentDigest => "文件摘要（SHA-256）", "Document digest (SHA-256)";
    DigestCompare => "请核对应用系统页面上显示的摘要与下方一致后再签名。", "Before signing, check that the system's page shows the same digest.";
    SignAs => "签名身份", "Signing as";
    ConfirmSign => "确认签名", "Sign";
    RejectSign => "拒绝", "Reject";
    SignDone => "已签名，请回到应用系统继续操作。", "Signed; continue in the system that asked.";
    SignRejected => "已拒绝此次签名。", "You rejected this signature.";
    // Issue 4: OpenID Connect scan login for relying parties.
    OidcTitle => "使用法人电子证书登录", "Sign in with the legal-person e-certificate";
    OidcParty => "请求登录的应用系统：", "Application system asking you to sign in:";
    OidcScanHeading => "扫码登录应用系统", "Scan to sign in to the application system";
    OidcCancel => "取消并返回应用系统", "Cancel and return to the application system";
    OidcCancelled => "已取消登录，正在返回应用系统…", "Sign-in cancelled; returning to the application system…";
    OidcHint => "请用证书钱包扫描二维码，核对手机上显示的应用系统名称和匹配码一致后，输入证书密码确认登录。", "Scan the QR code with the certificate wallet, check that the phone shows this application system and the same match code, then confirm with the certificate password.";
    OidcGone => "登录请求不存在、已完成或已过期，请回到应用系统重新发起登录。", "This sign-in request is unknown, finished or expired; start again from the application system.";
    OidcReturning => "已确认，正在返回应用系统…", "Confirmed; returning to the application system…";
    OidcDenied => "已在手机上拒绝登录，正在返回应用系统…", "Sign-in rejected on the phone; returning to the application system…";
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

/// The name of a role in a certificate.
pub fn role_text(role: Role, lang: Lang) -> &'static str {
    match role {
        Role::FirstManager => T::RoleFirstManager.get(lang),
        Role::Manager => T::RoleManager.get(lang),
        Role::User => T::RoleUser.get(lang),
    }
}

/// The name of a kind of usage record (R12); `None` is the filter's "all kinds".
pub fn usage_kind_text(kind: Option<UsageKind>, lang: Lang) -> &'static str {
    match kind {
        Some(UsageKind::Login) => T::UsageLogin.get(lang),
        Some(UsageKind::Present) => T::UsagePresent.get(lang),
        Some(UsageKind::Sign) => T::UsageSign.get(lang),
        None => T::UsageAll.get(lang),
    }
}

/// The name of a kind of change record.
pub fn change_text(kind: ChangeKind, lang: Lang) -> &'static str {
    let (zh, en) = match kind {
        ChangeKind::Issued => ("签发证书", "Certificate issued"),
        ChangeKind::Claimed => ("第一管理责任人领取证书", "Claimed by the first manager"),
        ChangeKind::ManagerAdded => ("添加管理人", "Manager added"),
        ChangeKind::ManagerAccepted => ("管理人接受授权", "Manager accepted"),
        ChangeKind::ManagerRemoved => ("移除管理人", "Manager removed"),
        ChangeKind::UserAdded => ("添加使用人", "User added"),
        ChangeKind::UserAccepted => ("使用人接受授权", "User accepted"),
        ChangeKind::UserRemoved => ("移除使用人", "User removed"),
        ChangeKind::GrantAdded => ("新增授权", "Grant added"),
        ChangeKind::GrantCancelled => ("取消授权", "Grant cancelled"),
        ChangeKind::GrantReceived => ("使用人扫码接收授权", "Grant received by the user"),
        ChangeKind::AuthorizeRightGiven => ("授予管理人使用人授权权限", "Manager may authorize users"),
        ChangeKind::AuthorizeRightWithdrawn => ("收回管理人使用人授权权限", "Manager may no longer authorize users"),
        ChangeKind::PasswordReset => ("重置证书密码", "Certificate password reset"),
        ChangeKind::LegalRepChanged => ("法定代表人变更", "Legal representative changed"),
        ChangeKind::FirstManagerChanged => ("第一管理责任人变更", "First manager changed"),
        ChangeKind::Renamed => ("名称变更", "Name changed"),
        ChangeKind::MobileChanged => ("手机号码变更", "Mobile changed"),
        ChangeKind::AddressChanged => ("住所变更", "Address changed"),
        ChangeKind::RepMobileChanged => ("法定代表人手机号码变更", "Legal representative's mobile changed"),
        ChangeKind::Renewed => ("证书续期", "Validity renewed"),
        ChangeKind::RedownloadIssued => {
            ("补办证书（原手机停用）", "New phone: old phone stopped, re-download code given")
        }
        ChangeKind::DeviceChanged => ("证书已补办到新手机", "Certificate moved to a new phone"),
        ChangeKind::DeviceRemoved => ("持有人从手机删除证书", "Holder removed the certificate from the phone"),
        ChangeKind::Cancelled => ("证书注销", "Certificate cancelled"),
        ChangeKind::Deleted => ("证书删除", "Certificate deleted"),
        ChangeKind::FilingSubmitted => ("签署提交登记业务", "Registration filing signed and filed"),
        ChangeKind::FilingApproved => ("登记业务已核准", "Registration filing approved"),
        ChangeKind::FilingReturned => ("登记业务被退回", "Registration filing returned"),
    };
    lang.pick(zh, en)
}

/// The kind of a registration filing (R23).
pub fn filing_kind_text(kind: ecert_core::filing::FilingKind, lang: Lang) -> &'static str {
    kind.label(lang)
}

/// Where a registration filing stands.
pub fn filing_status_text(status: ecert_core::filing::FilingStatus, lang: Lang) -> &'static str {
    use ecert_core::filing::FilingStatus;
    match status {
        FilingStatus::Submitted => T::FilingSubmitted.get(lang),
        FilingStatus::Approved => T::FilingApproved.get(lang),
        FilingStatus::Returned => T::FilingReturned.get(lang),
    }
}
