//! Shared building blocks of the domain types: closed sets of values that are stored as text.
//!
//! A role, a state or a kind of record is an enum declared with [`text_enum!`]: its one home
//! for the text it has in SQL and on the wire (the same text, so that a JSON field, a column and
//! a CHECK constraint agree), and a `match` over it in the UI breaks the build when a value is
//! added or renamed instead of falling silently to a default.
//!
//! Pure: compiled into the WASM bundle too. It must not name a database driver; the storage
//! side of these types (sqlx and rusqlite) lives in `store::text`.
//!
//! Beside it, the kernel's plain parts: errors a user can act on (`error`), languages (`i18n`),
//! masking for display (`mask`), China Standard Time days and instants (`time`), and field
//! checks (`validate`).

pub mod error;
pub mod i18n;
pub mod mask;
pub mod time;
pub mod validate;

/// Declares an enum whose every value has one fixed text: `as_sql` gives it, `from_sql` takes
/// it back (`None` for any other text), serde writes and reads the same text, and `ALL` lists
/// the values in declaration order.
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text this value has in SQL and on the wire.
            pub const fn as_sql(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// The value of a text written by [`Self::as_sql`]; `None` for any other text.
            pub fn from_sql(text: &str) -> Option<$name> {
                match text {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_sql())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        /// A test enum.
        pub enum Colour {
            Red = "red",
            DeepBlue = "deep_blue",
        }
    }

    #[test]
    fn text_round_trips_through_sql_and_serde() {
        for c in Colour::ALL {
            assert_eq!(Colour::from_sql(c.as_sql()), Some(*c));
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_sql()));
            assert_eq!(serde_json::from_str::<Colour>(&json).unwrap(), *c);
        }
        assert_eq!(Colour::from_sql("Red"), None, "texts are exact");
        assert_eq!(Colour::DeepBlue.to_string(), "deep_blue");
    }
}
