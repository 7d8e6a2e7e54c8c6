//! The storage side of the domain's text enums ([`crate::text_enum!`]): each is a `TEXT` column
//! holding [`as_sql`](crate::holder::Role::as_sql), read back with `from_sql`. A text that is no
//! value of the enum is a decoding error, never a default.
//!
//! Only the driver traits live here; which text a value has is the enum's own business.

use super::Value;

macro_rules! stored_as_text {
    ($($t:ty),+ $(,)?) => {$(
        impl<DB: sqlx::Database> sqlx::Type<DB> for $t
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $t
        where
            &'q str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut DB::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'q str as sqlx::Encode<'q, DB>>::encode(self.as_sql(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $t
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                <$t>::from_sql(text).ok_or_else(|| format!("{text:?} is no {}", stringify!($t)).into())
            }
        }

        impl rusqlite::types::FromSql for $t {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let text = value.as_str()?;
                <$t>::from_sql(text)
                    .ok_or_else(|| rusqlite::types::FromSqlError::Other(format!("{text:?} is no {}", stringify!($t)).into()))
            }
        }

        impl rusqlite::ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.as_sql()))
            }
        }

        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::Text(Some(v.as_sql().to_owned()))
            }
        }

        super::column!($t, Option<$t>);
    )+};
}

stored_as_text!(
    crate::holder::Role,
    crate::holder::HolderStatus,
    crate::holder::GrantStatus,
    crate::certificate::CertificateStatus,
    crate::changes::ChangeKind,
    crate::usage::UsageKind,
    crate::sms::SmsKind,
    crate::sms::DeliveryStatus,
    crate::filing::FilingKind,
    crate::filing::FilingStatus,
);
