//! What went wrong, in the user's terms. No transport detail lives here: the edges (server
//! functions, the JSON API) map a [`DomainError`] to a status code and show [`DomainError::message`]
//! in the caller's language.
//!
//! It must not carry a backend error's detail to the user: that is logged, with a request id.

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

crate::text_enum! {
    /// Why a device binding stopped working, as the void card on the phone says it (R8, R14,
    /// R15, R19). The first five are kept on the device row when it is voided; a cancelled or
    /// deleted certificate is read from the certificate.
    pub enum VoidReason {
        Removed = "removed",
        LegalRepChanged = "legal_rep_changed",
        FirstManagerChanged = "first_manager_changed",
        Moved = "moved",
        Dropped = "dropped",
        Cancelled = "cancelled",
        Deleted = "deleted",
    }
}

impl VoidReason {
    /// The reason as the holder reads it.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            VoidReason::Removed => lang.pick("您的角色已被移除", "your role was removed"),
            VoidReason::LegalRepChanged => lang.pick(
                "法定代表人已变更，全部授权已失效",
                "the legal representative changed; every authorization ended",
            ),
            VoidReason::FirstManagerChanged => lang
                .pick("第一管理责任人已变更，全部授权已失效", "the first manager changed; every authorization ended"),
            VoidReason::Moved => lang.pick("证书已补办到另一部手机", "the certificate was moved to another phone"),
            VoidReason::Dropped => lang.pick("已从此手机删除", "it was removed from this phone"),
            VoidReason::Cancelled => lang.pick("证书已注销", "the certificate was cancelled"),
            VoidReason::Deleted => lang.pick("证书已删除", "the certificate was deleted"),
        }
    }
}

/// Why one input field was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    Required,
    TooLong {
        max: usize,
    },
    TooShort {
        min: usize,
    },
    BadFormat,
    BadCheckCharacter,
    /// A number or date outside what the rule allows (e.g. a grant period, R6).
    OutOfRange,
    /// A name that looks like one of the platform's own (issue 14 §1: a relying party's name
    /// is what the phone shows when it asks to log in).
    Reserved,
    /// A credit code that is not a public institution's (`12…`, issue 15 §1).
    NotPublicInstitution,
    /// A division code (of a credit code or a new authority) outside the staff member's
    /// authority's area, or not below it.
    OutsideDivision,
    /// More items than allowed.
    TooMany {
        max: usize,
    },
    /// A file larger than allowed.
    TooLarge {
        max_kb: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Machine name of the field, e.g. `credit_code`.
    pub field: String,
    pub problem: Problem,
}

impl FieldError {
    pub fn new(field: &str, problem: Problem) -> Self {
        FieldError { field: field.to_owned(), problem }
    }

    pub fn message(&self, lang: Lang) -> String {
        let field = field_label(&self.field, lang);
        match (&self.problem, lang) {
            (Problem::Required, Lang::Zh) => format!("{field}不能为空"),
            (Problem::Required, Lang::En) => format!("{field} is required"),
            (Problem::TooLong { max }, Lang::Zh) => format!("{field}不能超过{max}个字符"),
            (Problem::TooLong { max }, Lang::En) => format!("{field} must be at most {max} characters"),
            (Problem::TooShort { min }, Lang::Zh) => format!("{field}至少需要{min}个字符"),
            (Problem::TooShort { min }, Lang::En) => format!("{field} must be at least {min} characters"),
            (Problem::BadFormat, Lang::Zh) => format!("{field}格式不正确"),
            (Problem::BadFormat, Lang::En) => format!("{field} is not in the right format"),
            (Problem::BadCheckCharacter, Lang::Zh) => format!("{field}校验位不正确"),
            (Problem::BadCheckCharacter, Lang::En) => format!("{field} has a wrong check character"),
            (Problem::OutOfRange, Lang::Zh) => format!("{field}超出允许范围"),
            (Problem::OutOfRange, Lang::En) => format!("{field} is out of the allowed range"),
            (Problem::Reserved, Lang::Zh) => format!("{field}不能使用与本平台相似的名称"),
            (Problem::Reserved, Lang::En) => format!("{field} must not look like the platform's own names"),
            (Problem::NotPublicInstitution, Lang::Zh) => format!("{field}不是事业单位的代码（应以12开头）"),
            (Problem::NotPublicInstitution, Lang::En) => {
                format!("{field} is not a public institution's (it must start with 12)")
            }
            (Problem::OutsideDivision, Lang::Zh) => format!("{field}不在本登记管理机关的行政区划内"),
            (Problem::OutsideDivision, Lang::En) => format!("{field} is outside this authority's area"),
            (Problem::TooMany { max }, Lang::Zh) => format!("{field}最多{max}个"),
            (Problem::TooMany { max }, Lang::En) => format!("{field}: at most {max}"),
            (Problem::TooLarge { max_kb }, Lang::Zh) => format!("{field}不能超过{max_kb}KB"),
            (Problem::TooLarge { max_kb }, Lang::En) => format!("{field} must be at most {max_kb} KB"),
        }
    }
}

fn field_label(field: &str, lang: Lang) -> &str {
    let (zh, en) = match field {
        "username" => ("用户名", "User name"),
        "password" => ("密码", "Password"),
        "credit_code" => ("统一社会信用代码", "Unified social credit code"),
        "id_number" => ("身份证号码", "Resident ID number"),
        "mobile" => ("手机号码", "Mobile number"),
        "name" => ("名称", "Name"),
        "person_name" => ("姓名", "Name"),
        "legal_rep_person_name" => ("法定代表人姓名", "Legal representative's name"),
        "legal_rep_id_number" => ("法定代表人身份证号码", "Legal representative's ID number"),
        "legal_rep_mobile" => ("法定代表人手机号码", "Legal representative's mobile"),
        "first_manager_person_name" => ("第一管理责任人姓名", "First manager's name"),
        "first_manager_id_number" => ("第一管理责任人身份证号码", "First manager's ID number"),
        "first_manager_mobile" => ("第一管理责任人手机号码", "First manager's mobile"),
        "address" => ("住所", "Address"),
        "authority_name" => ("登记管理机关名称", "Authority name"),
        "region_code" => ("行政区划代码", "Region code"),
        "duties" => ("岗位", "Duties"),
        "certificate_password" => ("证书密码", "Certificate password"),
        "match_code" => ("匹配数字", "Match code"),
        "public_key" => ("设备公钥", "Device public key"),
        "matters" => ("授权事项", "Authorized matters"),
        "start_day" => ("授权开始日期", "Grant start date"),
        "end_day" => ("授权结束日期", "Grant end date"),
        "period" => ("授权期限（1天至1年）", "Grant period (1 day to 1 year)"),
        "sms_code" => ("短信验证码", "SMS code"),
        "redirect_uris" => ("回调地址", "Redirect URLs"),
        "webhook_url" => ("推送地址", "Webhook URL"),
        "services" => ("可办理事项", "Services"),
        "guide" => ("服务指南", "Service guide"),
        "entry" => ("办理地点或网址", "Where"),
        "after" => ("游标", "Cursor"),
        "limit" => ("每页条数", "Page size"),
        "code" => ("核验码", "Code"),
        "grant_id" => ("授权", "Grant"),
        "signed_at" => ("签名时间", "Signing time"),
        "digest" => ("文件摘要", "Document digest"),
        "description" => ("签名事由", "Description"),
        "document_name" => ("文件名称", "Document name"),
        "stats_period" => ("统计周期", "Period"),
        "from_day" => ("开始日期", "From"),
        "to_day" => ("结束日期", "To"),
        "page" => ("页码", "Page"),
        "status" => ("状态", "Status"),
        "list" => ("清单", "List"),
        "matter_name" => ("事项名称", "Matter name"),
        "matter_name_en" => ("英文名称", "English name"),
        "checklist" => ("材料核验清单", "Papers checklist"),
        "csv" => ("名单文件", "List file"),
        "selection" => ("所选单位", "Selection"),
        "kind" => ("同类待审核的登记业务", "A waiting filing of this kind"),
        "annual_report" => ("该年度的年度报告", "This year's annual report"),
        "reason" => ("事由", "Reason"),
        "review_note" => ("审核意见", "Review note"),
        "year" => ("报告年度", "Report year"),
        "activities" => ("开展业务活动情况", "Business activities"),
        "net_assets_start" => ("年初净资产（万元）", "Net assets at the start (10k yuan)"),
        "net_assets_end" => ("年末净资产（万元）", "Net assets at the end (10k yuan)"),
        "assets_start" => ("年初资产总额（万元）", "Total assets at the start (10k yuan)"),
        "assets_end" => ("年末资产总额（万元）", "Total assets at the end (10k yuan)"),
        "change_compliance" => ("变更登记规定执行情况", "Compliance with change registration"),
        "performance" => ("绩效和受奖惩情况", "Performance, awards and penalties"),
        "litigation" => ("涉及诉讼情况", "Litigation"),
        "complaints" => ("社会投诉情况", "Complaints"),
        "other" => ("其他需要报告的情况", "Other matters"),
        "authority_id" => ("登记管理机关", "Registration authority"),
        "purpose" => ("宗旨和业务范围", "Purpose and scope"),
        "funds" => ("开办资金（万元）", "Start-up funds (10k yuan)"),
        "funding_source" => ("经费来源", "Source of funding"),
        "sponsor" => ("举办单位", "Sponsor"),
        "files" => ("附件", "Attachments"),
        "file" => ("附件", "Attachment"),
        "file_name" => ("附件名称", "Attachment name"),
        "establishment" => ("审核中的设立申请", "An application under review"),
        other => (other, other),
    };
    lang.pick(zh, en)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum DomainError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("wrong user name or password")]
    InvalidCredentials,
    /// Too many wrong passwords in a row. It does not say until when: that would tell an
    /// attacker when to try again (issue 14 §4).
    #[error("account locked")]
    AccountLocked,
    #[error("not signed in")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("invalid code")]
    CodeInvalid,
    #[error("code expired")]
    CodeExpired,
    #[error("code already used")]
    CodeUsed,
    #[error("already exists")]
    AlreadyExists { field: String },
    /// R3: a certificate has at most 3 managers.
    #[error("too many managers")]
    TooManyManagers,
    /// The name and ID number given do not match the person the role was made for.
    #[error("identity mismatch")]
    IdentityMismatch,
    /// The identity service (national population platform) did not answer; nothing was saved.
    #[error("identity service unavailable")]
    IdentityUnavailable,
    /// A device approval whose signature does not verify with the bound key.
    #[error("bad signature")]
    BadSignature,
    /// R13: a wrong certificate password; `remaining` tries before it locks.
    #[error("wrong certificate password")]
    WrongPassword { remaining: i64 },
    /// R13: six wrong entries in a row; only an SMS code unlocks it.
    #[error("certificate password locked")]
    PasswordLocked,
    /// The device binding, role or certificate is no longer valid (R8, R14, R15).
    #[error("revoked")]
    Revoked,
    /// R19: this device's card no longer works, and why (told only to the device's own key).
    #[error("card void")]
    CardVoid { reason: VoidReason },
    /// R20: the certificate's validity ended on `last_day` (`YYYY-MM-DD`); it works again once
    /// the registration authority renews it.
    #[error("certificate expired")]
    Expired { last_day: String },
    /// R20: renewal is offered from three months before expiry, from `opens` (`YYYY-MM-DD`).
    #[error("renewal not open yet")]
    RenewalNotOpen { opens: String },
    /// The first manager has withdrawn this manager's right to authorize users (使用人授权).
    #[error("authorize right withdrawn")]
    AuthorizeRightWithdrawn,
    /// R17: a user with no grant in force (none received, or none inside its period today).
    #[error("no grant in force")]
    NoGrantInForce,
    /// Only the first manager and managers use the manager dashboard.
    #[error("not a manager")]
    NotAManager,
    /// The action does not fit the current state (e.g. a role already accepted).
    #[error("invalid state")]
    InvalidState,
    /// R13: a wrong SMS code; `remaining` tries left for it (0: ask for a new one).
    #[error("wrong sms code")]
    SmsCodeWrong { remaining: i64 },
    /// Too many requests of this kind; try again later.
    #[error("rate limited")]
    RateLimited,
    /// R9: a presented code that is unknown, expired, used, revoked or lapsed. One answer for
    /// all of them, so that a check reveals nothing about the code.
    #[error("presentation invalid or expired")]
    PresentationInvalid,
    /// A device signature whose time is too far from now, or not later than the device's last
    /// one: a delayed or replayed request.
    #[error("stale signature")]
    StaleSignature,
    /// Issue 14 §1: the match code picked on the phone is not the one the PC shows; the login
    /// request has ended.
    #[error("wrong match code")]
    MatchCodeWrong,
    /// Issue 14 §1: a dashboard write that gives, shows or takes a power needs a fresh approval
    /// of that very action on the holder's phone; none was given (or it was used, expired, or
    /// for another action).
    #[error("approval required")]
    ApprovalRequired,
}

impl DomainError {
    pub fn field(field: &str, problem: Problem) -> Self {
        DomainError::Validation(vec![FieldError::new(field, problem)])
    }

    /// The message a person reads, in their language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            DomainError::Validation(fields) => {
                let parts: Vec<String> = fields.iter().map(|f| f.message(lang)).collect();
                parts.join(lang.pick("；", "; "))
            }
            DomainError::InvalidCredentials => lang.pick("用户名或密码错误", "Wrong user name or password").into(),
            DomainError::AccountLocked => lang
                .pick(
                    "连续输错次数过多，账户已临时锁定，请稍后再试",
                    "Too many failed attempts: the account is locked for a while, try again later",
                )
                .into(),
            DomainError::Unauthenticated => lang.pick("请先登录", "Please sign in first").into(),
            DomainError::Forbidden => lang.pick("无权执行此操作", "You are not allowed to do this").into(),
            DomainError::NotFound => lang.pick("未找到", "Not found").into(),
            DomainError::CodeInvalid => lang.pick("二维码无效", "This code is not valid").into(),
            DomainError::CodeExpired => {
                lang.pick("二维码已过期，请重新生成", "This code has expired; please generate a new one").into()
            }
            DomainError::CodeUsed => lang.pick("二维码已被使用", "This code has already been used").into(),
            DomainError::TooManyManagers => lang
                .pick(
                    "每个证书最多授权3名管理人，已达上限",
                    "A certificate has at most 3 managers; this limit is reached",
                )
                .into(),
            DomainError::IdentityMismatch => lang
                .pick("姓名或身份证号码与登记信息不一致", "The name or ID number does not match the registered person")
                .into(),
            DomainError::IdentityUnavailable => lang
                .pick(
                    "身份核验服务暂时不可用，请稍后重试",
                    "The identity verification service is unavailable; please try again later",
                )
                .into(),
            DomainError::BadSignature => {
                lang.pick("设备签名校验失败", "The device signature could not be verified").into()
            }
            DomainError::WrongPassword { remaining } => match lang {
                Lang::Zh => format!("证书密码错误，还可尝试{remaining}次"),
                Lang::En => format!("Wrong certificate password; {remaining} tries left"),
            },
            DomainError::PasswordLocked => lang
                .pick(
                    "证书密码已锁定，请通过短信验证码解锁并重置",
                    "The certificate password is locked; unlock and reset it with an SMS code",
                )
                .into(),
            DomainError::Revoked => {
                lang.pick("该证书或授权已失效", "This certificate or authorization is no longer valid").into()
            }
            DomainError::CardVoid { reason } => match lang {
                Lang::Zh => format!("此手机上的证书已失效：{}", reason.label(lang)),
                Lang::En => format!("The certificate on this phone no longer works: {}", reason.label(lang)),
            },
            DomainError::Expired { last_day } => match lang {
                Lang::Zh => format!("证书有效期已于{last_day}届满，请到登记管理机关办理续期"),
                Lang::En => {
                    format!("The certificate's validity ended on {last_day}; renew it at the registration authority")
                }
            },
            DomainError::RenewalNotOpen { opens } => match lang {
                Lang::Zh => format!("有效期届满前三个月内方可续期，本证书自{opens}起可以续期"),
                Lang::En => format!("Renewal opens three months before expiry: for this certificate on {opens}"),
            },
            DomainError::AuthorizeRightWithdrawn => lang
                .pick(
                    "第一管理责任人未授予您使用人授权权限",
                    "The first manager has not given you the right to authorize users",
                )
                .into(),
            DomainError::NoGrantInForce => lang
                .pick(
                    "您目前没有生效的授权事项，请联系管理人授权并扫描授权二维码",
                    "You have no grant in force; ask your manager for one and scan its grant QR code",
                )
                .into(),
            DomainError::NotAManager => lang
                .pick(
                    "只有第一管理责任人和管理人可以登录管理后台",
                    "Only the first manager and managers can sign in to the dashboard",
                )
                .into(),
            DomainError::InvalidState => {
                lang.pick("当前状态下不能执行此操作", "This cannot be done in the current state").into()
            }
            DomainError::SmsCodeWrong { remaining: 0 } => lang
                .pick("短信验证码无效或已过期，请重新获取", "The SMS code is invalid or expired; ask for a new one")
                .into(),
            DomainError::SmsCodeWrong { remaining } => match lang {
                Lang::Zh => format!("短信验证码错误，还可尝试{remaining}次"),
                Lang::En => format!("Wrong SMS code; {remaining} tries left"),
            },
            DomainError::RateLimited => {
                lang.pick("操作过于频繁，请稍后再试", "Too many requests; please try again later").into()
            }
            DomainError::PresentationInvalid => lang.pick("无效或已过期", "Invalid or expired").into(),
            DomainError::StaleSignature => lang
                .pick(
                    "请求已过期或重复，请检查手机时间后重试",
                    "The request is outdated or repeated; check the phone's clock and try again",
                )
                .into(),
            DomainError::MatchCodeWrong => lang
                .pick(
                    "所选数字与电脑上显示的不一致，本次登录已终止。如果这个二维码或链接是别人发给您的，对方正在试图冒用您单位的身份，请勿再按其要求操作",
                    "The number you picked is not the one the computer shows, so this login has been ended. \
                     If someone sent you this code or link, they are trying to act as your institution: do not follow their instructions",
                )
                .into(),
            DomainError::ApprovalRequired => lang
                .pick(
                    "此操作需要在手机证书钱包中扫码确认，请重新提交并在手机上确认",
                    "This needs your approval in the phone wallet: submit it again and approve it on the phone",
                )
                .into(),
            DomainError::AlreadyExists { field } => match lang {
                Lang::Zh => format!("{}已存在", field_label(field, lang)),
                Lang::En => format!("{} already exists", field_label(field, lang)),
            },
        }
    }
}

/// The error of a use-case: a [`DomainError`] the user can act on, or a backend failure that the
/// edge logs in full and shows only as an opaque "internal error" with a request id.
#[cfg(feature = "server")]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("storage: {0}")]
    Storage(#[from] crate::store::StoreError),
    #[error(transparent)]
    Password(#[from] crate::secret::PasswordError),
    #[error(transparent)]
    Sealed(#[from] crate::seal::OpenError),
    /// An archive package that cannot be written or does not match its hash (issue 15 §3).
    #[error("archive: {0}")]
    Archive(String),
}

#[cfg(feature = "server")]
pub type Result<T, E = Error> = std::result::Result<T, E>;
